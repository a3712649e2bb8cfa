package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// pruneBatch is how many rows one prune transaction deletes at most, so
// that the single writer connection is never held for long and messages
// being sent interleave with a large prune.
const pruneBatch = 1000

// Prune deletes messages sent before olderThan (unless zero) and, in every
// room, all but the newest keepPerRoom (when > 0), in transactions of at
// most pruneBatch rows. It returns how many rows it deleted, also when it
// stops early on an error.
func (s *Store) Prune(ctx context.Context, olderThan time.Time, keepPerRoom int) (int64, error) {
	var total int64
	if !olderThan.IsZero() {
		n, err := s.deleteBatches(ctx,
			`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE sent_ms < ? LIMIT ?)`,
			ms(olderThan))
		total += n
		if err != nil {
			return total, err
		}
	}
	if keepPerRoom > 0 {
		rooms, err := s.rooms(ctx)
		if err != nil {
			return total, err
		}
		for _, room := range rooms {
			// The id of the newest message to delete: the one just below
			// the keepPerRoom newest.
			var cutoff int64
			err := s.r.QueryRowContext(ctx,
				`SELECT id FROM messages WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?`,
				room, keepPerRoom).Scan(&cutoff)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return total, wrap(ctx, err)
			}
			n, err := s.deleteBatches(ctx,
				`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE room = ? AND id <= ? LIMIT ?)`,
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
// deletes fewer than a full batch. Each run is its own transaction.
func (s *Store) deleteBatches(ctx context.Context, query string, args ...any) (int64, error) {
	args = append(args, pruneBatch)
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, query, args...)
		if err := s.durable(ctx, err); err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap(ctx, err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// rooms lists the rooms that have messages, walking the (room, id) index
// one distinct room at a time instead of scanning every row.
func (s *Store) rooms(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `
		WITH RECURSIVE r(room) AS (
			SELECT MIN(room) FROM messages
			UNION ALL
			SELECT (SELECT MIN(room) FROM messages WHERE room > r.room) FROM r WHERE r.room IS NOT NULL
		)
		SELECT room FROM r WHERE room IS NOT NULL`)
	if err != nil {
		return nil, wrap(ctx, err)
	}
	defer rows.Close()
	var rooms []string
	for rows.Next() {
		var room string
		if err := rows.Scan(&room); err != nil {
			return nil, wrap(ctx, err)
		}
		rooms = append(rooms, room)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, err)
	}
	return rooms, nil
}
