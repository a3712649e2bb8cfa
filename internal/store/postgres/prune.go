package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// pruneBatch is how many rows one prune statement deletes at most, so that
// no transaction holds many row locks or runs for long.
const pruneBatch = 1000

// Prune deletes messages sent before olderThan (unless zero) and, in every
// room, all but the newest keepPerRoom (when > 0), in statements of at
// most pruneBatch rows, each its own transaction. It returns how many rows
// it deleted, also when it stops early on an error.
func (s *Store) Prune(ctx context.Context, olderThan time.Time, keepPerRoom int) (int64, error) {
	var total int64
	if !olderThan.IsZero() {
		n, err := s.deleteBatches(ctx,
			`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE sent < $1 LIMIT $2)`,
			ms(olderThan))
		total += n
		if err != nil {
			return total, err
		}
	}
	if keepPerRoom > 0 {
		rows, err := s.pool.Query(ctx, `SELECT name FROM rooms ORDER BY name`)
		if err != nil {
			return total, wrap(ctx, err)
		}
		rooms, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return total, wrap(ctx, err)
		}
		for _, room := range rooms {
			var cutoff int64
			err := s.pool.QueryRow(ctx,
				`SELECT id FROM messages WHERE room = $1 ORDER BY id DESC OFFSET $2 LIMIT 1`,
				room, keepPerRoom).Scan(&cutoff)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return total, wrap(ctx, err)
			}
			n, err := s.deleteBatches(ctx,
				`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE room = $1 AND id <= $2 LIMIT $3)`,
				room, cutoff)
			total += n
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// deleteBatches runs query (whose last parameter is the batch size) until it
// deletes fewer than a full batch.
func (s *Store) deleteBatches(ctx context.Context, query string, args ...any) (int64, error) {
	args = append(args, pruneBatch)
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, query, args...)
		if err != nil {
			return total, wrap(ctx, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneBatch {
			return total, nil
		}
	}
}
