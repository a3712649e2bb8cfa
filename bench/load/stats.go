package load

import (
	"math"
	"slices"
)

// Percentile returns the nearest-rank q-quantile (0 < q <= 1) of samples,
// which it does not modify, or NaN when samples is empty.
func Percentile(samples []float64, q float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// Summary describes a metric over several runs.
type Summary struct {
	Median, Min, Max float64
	N                int
}

// Summarize returns the median, minimum and maximum of values, skipping NaN
// (a metric a run could not measure). The median of an even count is the mean
// of the two middle values. With no usable value every field is NaN and N is 0.
func Summarize(values []float64) Summary {
	var s []float64
	for _, v := range values {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return Summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[n-1], N: n}
}
