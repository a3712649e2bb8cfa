package load

import (
	"context"
	"fmt"
	"strconv"
)

// SeedHistory posts n messages to the room every connection starts in
// (general) from one connection of session s and waits until each is
// acknowledged, so that the room_joined of a later connect storm carries
// real history (up to the 50 newest messages), as it would after a
// restart of a server in use.
func SeedHistory(ctx context.Context, cfg DialConfig, s Session, n int) error {
	if n <= 0 {
		return nil
	}
	api := NewAPI(cfg.BaseURL, 1)
	defer api.Close()
	d, err := NewDialer(cfg, api)
	if err != nil {
		return err
	}
	defer d.Close()
	c, err := d.Dial(ctx, s, nil, 0)
	if err != nil {
		return fmt.Errorf("seeding history: %w", err)
	}
	defer c.Close()
	if err := c.WaitRoom(ctx, "general"); err != nil {
		return fmt.Errorf("seeding history: %w", err)
	}
	for i := 1; i <= n; i++ {
		text := "history " + strconv.Itoa(i) + ": the kind of line a room keeps, long enough to be typical"
		frame := `{"type":"send_message","id":"m` + strconv.Itoa(i) + `","payload":{"message":"` + text + `"}}`
		if err := c.write([]byte(frame)); err != nil {
			return fmt.Errorf("seeding history: %w", err)
		}
	}
	answered, err := c.awaitAnswers(ctx, int64(n), 0)
	switch {
	case err != nil:
		return fmt.Errorf("seeding history: %w", err)
	case !answered:
		return fmt.Errorf("seeding history: connection ended: %v", c.err)
	}
	if k := c.nacked.Load(); k > 0 {
		return fmt.Errorf("seeding history: %d messages refused: %s", k, c.Problem())
	}
	return nil
}
