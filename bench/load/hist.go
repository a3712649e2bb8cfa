// Package load holds the pieces of the Parley load tool that do not depend on
// how it is started: the wire client, the scenarios a worker process runs,
// the latency histogram, server probes and the arithmetic on results.
package load

import (
	"math"
	"math/bits"
	"sync/atomic"
)

const (
	subBits  = 6
	subCount = 1 << subBits // linear sub-buckets per power of two
	maxShift = 40           // values up to about 2^47 microseconds
	// numBuckets is the number of counters a Histogram keeps.
	numBuckets = (maxShift + 2) * subCount
)

// Histogram counts non-negative integer samples (the load tool records
// microseconds) in buckets no wider than 1/64 of their lower bound, so a
// quantile read from it is within about 1% of the exact sample.
//
// Concurrency: Record may be called from any number of goroutines at once;
// every counter is updated atomically. Snapshot and Quantile read the counters
// atomically too but see a consistent total only once recording has stopped.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
}

// bucketOf returns the index of the bucket holding v.
func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1)
	if shift > maxShift {
		return numBuckets - 1
	}
	return (shift+1)*subCount + int(v>>uint(shift)) - subCount
}

// bucketRange returns the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2*subCount {
		return uint64(i), uint64(i)
	}
	shift := uint(i/subCount - 1)
	mant := uint64(i%subCount + subCount)
	return mant << shift, (mant+1)<<shift - 1
}

// Record adds one sample; negative samples count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(uint64(v))].Add(1)
}

// HistData is the serialisable form of a Histogram: pairs of bucket index and
// count, for the buckets that are not empty.
type HistData [][2]uint64

// Snapshot returns the non-empty buckets of h.
func (h *Histogram) Snapshot() HistData {
	var d HistData
	for i := range h.counts {
		if n := h.counts[i].Load(); n > 0 {
			d = append(d, [2]uint64{uint64(i), n})
		}
	}
	return d
}

// Merge adds the counts of d to h. Bucket indices out of range are ignored.
func (h *Histogram) Merge(d HistData) {
	for _, p := range d {
		if p[0] < numBuckets {
			h.counts[p[0]].Add(p[1])
		}
	}
}

// Count returns the number of recorded samples.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Quantile returns the nearest-rank q-quantile (0 < q <= 1) of the recorded
// samples as the midpoint of its bucket, or 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) uint64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	if rank > total {
		rank = total
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			lo, hi := bucketRange(i)
			return lo + (hi-lo)/2
		}
	}
	lo, hi := bucketRange(numBuckets - 1)
	return lo + (hi-lo)/2
}
