package load

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	values := []uint64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 12345, 1 << 20, 1<<20 + 1, 1<<40 - 1, 1 << 46}
	for _, v := range values {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if lo >= 2*subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-12 {
			t.Errorf("bucket %d = [%d, %d] is wider than 1/%d of its bound", i, lo, hi, subCount)
		}
	}
	// Consecutive buckets leave no gap.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("gap between bucket %d (ends %d) and %d (starts %d)", i-1, prevHi, i, lo)
		}
	}
}

func TestQuantileMatchesExactPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() float64
	}{
		{"uniform to 10000", func() float64 { return float64(rng.IntN(10000) + 1) }},
		{"exponential mean 2000", func() float64 { return math.Floor(rng.ExpFloat64() * 2000) }},
		{"small exact values", func() float64 { return float64(rng.IntN(100)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			samples := make([]float64, 20000)
			for i := range samples {
				samples[i] = tt.gen()
				h.Record(int64(samples[i]))
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				exact := Percentile(samples, q)
				got := float64(h.Quantile(q))
				if math.Abs(got-exact) > exact/subCount+1 {
					t.Errorf("q=%v: histogram %v, exact %v", q, got, exact)
				}
			}
		})
	}
}

func TestHistogramMergeEqualsRecordingBoth(t *testing.T) {
	var a, b, both Histogram
	for v := int64(0); v < 5000; v += 7 {
		a.Record(v)
		both.Record(v)
	}
	for v := int64(100); v < 90000; v += 131 {
		b.Record(v)
		both.Record(v)
	}
	var merged Histogram
	merged.Merge(a.Snapshot())
	merged.Merge(b.Snapshot())
	if merged.Count() != both.Count() {
		t.Fatalf("merged count %d, want %d", merged.Count(), both.Count())
	}
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if m, w := merged.Quantile(q), both.Quantile(q); m != w {
			t.Errorf("q=%v: merged %d, want %d", q, m, w)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("empty histogram: quantile %d, want 0", got)
	}
	h.Record(-5)
	if got := h.Quantile(1); got != 0 {
		t.Errorf("negative sample: quantile %d, want 0", got)
	}
	h.Record(math.MaxInt64)
	if got := h.Quantile(1); got < 1<<46 {
		t.Errorf("huge sample lands in %d, want the last bucket", got)
	}
	h.Merge(HistData{{numBuckets + 5, 1}})
	if h.Count() != 2 {
		t.Errorf("an out-of-range bucket was merged: count %d", h.Count())
	}
}
