package load

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Tracker gathers the deliveries of load messages seen by the connections of
// one worker. Every field is updated atomically by the connections' readers.
type Tracker struct {
	Plan       Plan
	Latency    Histogram // one-way latency in microseconds
	deliveries atomic.Int64
	duplicates atomic.Int64
	misrouted  atomic.Int64
	foreign    atomic.Int64
	last       atomic.Int64 // unix ns of the latest delivery
}

// Deliveries returns the number of distinct deliveries so far.
func (t *Tracker) Deliveries() int64 { return t.deliveries.Load() }

// fill copies the tracker's counters into r.
func (t *Tracker) fill(r *Report) {
	r.Deliveries = t.deliveries.Load()
	r.Duplicates = t.duplicates.Load()
	r.Misrouted = t.misrouted.Load()
	r.Foreign = t.foreign.Load()
	r.Latency = t.Latency.Snapshot()
	r.End = t.last.Load()
}

// LoadText returns the text of load message seq from sender sent at ns,
// padded with 'x' to size characters: "L <sender> <seq> <ns> xxx…".
func LoadText(sender int, seq int64, ns int64, size int) []byte {
	b := make([]byte, 0, max(size, 48))
	b = append(b, 'L', ' ')
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ns, 10)
	if len(b) < size {
		b = append(b, ' ')
		for len(b) < size {
			b = append(b, 'x')
		}
	}
	return b
}

// ParseLoadText reads back what LoadText wrote; ok is false for any other text.
func ParseLoadText(s string) (sender int, seq int64, ns int64, ok bool) {
	f := strings.SplitN(s, " ", 5)
	if len(f) < 4 || f[0] != "L" {
		return 0, 0, 0, false
	}
	snd, err1 := strconv.Atoi(f[1])
	seq, err2 := strconv.ParseInt(f[2], 10, 64)
	ns, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || snd < 0 || seq < 1 {
		return 0, 0, 0, false
	}
	return snd, seq, ns, true
}

// deliver records one new_message text; it runs on the connection's reader.
func (c *Conn) deliver(text string) {
	t := c.sink
	now := time.Now().UnixNano()
	sender, seq, ns, ok := ParseLoadText(text)
	if !ok {
		t.foreign.Add(1)
		return
	}
	if t.Plan.Room(sender) != c.room {
		t.misrouted.Add(1)
		return
	}
	bs := c.seen[sender]
	if bs == nil {
		bs = &bitset{}
		c.seen[sender] = bs
	}
	if !bs.set(uint64(seq)) {
		t.duplicates.Add(1)
		return
	}
	t.deliveries.Add(1)
	t.Latency.Record((now - ns) / 1000)
	for {
		old := t.last.Load()
		if now <= old || t.last.CompareAndSwap(old, now) {
			break
		}
	}
}

// bitset is a growable set of small non-negative integers.
type bitset struct{ w []uint64 }

// set adds i and reports whether it was absent.
func (b *bitset) set(i uint64) bool {
	k := int(i / 64)
	if k >= len(b.w) {
		b.w = append(b.w, make([]uint64, k+1-len(b.w))...)
	}
	m := uint64(1) << (i % 64)
	if b.w[k]&m != 0 {
		return false
	}
	b.w[k] |= m
	return true
}
