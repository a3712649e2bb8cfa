package sqlite

import (
	"context"
	"database/sql"
	"math"

	"github.com/parley-chat/parley/internal/store"
)

// SaveMessages stores msgs in one write transaction and fills in their ids
// in slice order; on any error nothing is stored and the ids are left as
// they were.
func (s *Store) SaveMessages(ctx context.Context, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap(ctx, err)
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, s.insertMsg)
	defer stmt.Close()
	// The newest id of each room before this batch: the first Prev.
	last := make(map[string]int64, 1)
	s.newestMu.Lock()
	for _, m := range msgs {
		if id, ok := s.newest[m.Room]; ok {
			last[m.Room] = id
		}
	}
	s.newestMu.Unlock()
	for _, m := range msgs {
		if _, ok := last[m.Room]; ok {
			continue
		}
		var newest int64
		if err := tx.StmtContext(ctx, s.roomNewest).QueryRowContext(ctx, m.Room).Scan(&newest); err != nil {
			return wrap(ctx, err)
		}
		last[m.Room] = newest
	}
	ids := make([]int64, len(msgs))
	prevs := make([]int64, len(msgs))
	for i, m := range msgs {
		if err := stmt.QueryRowContext(ctx, m.Room, m.From, m.Text, ms(m.Sent)).Scan(&ids[i]); err != nil {
			return wrap(ctx, err)
		}
		prevs[i] = last[m.Room]
		last[m.Room] = ids[i]
	}
	// Update the cache before the commit lets the next batch begin; take
	// the rooms out again if the commit fails.
	s.newestMu.Lock()
	if s.newest == nil || len(s.newest)+len(last) > maxNewest {
		s.newest = make(map[string]int64, len(last))
	}
	for room, id := range last {
		s.newest[room] = id
	}
	s.newestMu.Unlock()
	if err := tx.Commit(); err != nil {
		s.newestMu.Lock()
		for room := range last {
			delete(s.newest, room)
		}
		s.newestMu.Unlock()
		return wrap(ctx, err)
	}
	// Committed: the ids are taken whatever the flush says. A failed flush
	// (the disk is failing) reports the batch as not stored although its
	// rows are in the database, the one case where "all or none" does not
	// hold; every later write fails too, until a restart (see walLog).
	if err := s.durable(ctx, nil); err != nil {
		return err
	}
	for i := range msgs {
		msgs[i].ID, msgs[i].Prev = ids[i], prevs[i]
	}
	return nil
}

// History returns up to limit messages of room older than before (the
// newest when before <= 0), oldest first.
func (s *Store) History(ctx context.Context, room string, before int64, limit int) ([]store.Message, error) {
	if limit <= 0 {
		return []store.Message{}, nil
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.history.QueryContext(ctx, room, before, limit)
	if err != nil {
		return nil, wrap(ctx, err)
	}
	msgs, err := scanNewestFirst(rows, limit)
	if err != nil {
		return nil, wrap(ctx, err)
	}
	return msgs, nil
}

// Since returns the newest limit messages of room with ids above since,
// oldest first, and whether they are all of them.
func (s *Store) Since(ctx context.Context, room string, since int64, limit int) ([]store.Message, bool, error) {
	if limit <= 0 {
		return []store.Message{}, false, nil
	}
	// One row more than asked tells whether anything was left out.
	rows, err := s.since.QueryContext(ctx, room, since, limit+1)
	if err != nil {
		return nil, false, wrap(ctx, err)
	}
	msgs, err := scanNewestFirst(rows, limit+1)
	if err != nil {
		return nil, false, wrap(ctx, err)
	}
	if len(msgs) > limit {
		return msgs[1:], false, nil
	}
	return msgs, true, nil
}

// scanNewestFirst reads rows ordered newest first and returns them oldest
// first. It closes rows.
func scanNewestFirst(rows *sql.Rows, capacity int) ([]store.Message, error) {
	defer rows.Close()
	msgs := make([]store.Message, 0, min(capacity, 1024))
	for rows.Next() {
		var m store.Message
		var sent int64
		if err := rows.Scan(&m.ID, &m.Room, &m.From, &m.Text, &sent); err != nil {
			return nil, err
		}
		m.Sent = fromMS(sent)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, nil
}
