package load

import (
	"bytes"
	"math"
	"strconv"
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

// ParseLoadText reads back what LoadText wrote; ok is false for any other
// text. It allocates nothing: the load tool runs it for every delivery.
func ParseLoadText(text []byte) (sender int, seq int64, ns int64, ok bool) {
	rest, ok := bytes.CutPrefix(text, []byte("L "))
	if !ok {
		return 0, 0, 0, false
	}
	var f [3]int64
	for i := range f {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte(" "))
		if f[i], ok = decimal(field); !ok {
			return 0, 0, 0, false
		}
	}
	if f[1] < 1 || f[0] > math.MaxInt32 {
		return 0, 0, 0, false
	}
	return int(f[0]), f[1], f[2], true
}

// decimal parses a non-empty run of ASCII digits that fits an int64.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		d := int64(c) - '0'
		if d < 0 || d > 9 || n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// deliver records one new_message text; it runs on the connection's reader.
func (c *Conn) deliver(text []byte) {
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
