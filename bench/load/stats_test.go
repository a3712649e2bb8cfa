package load

import (
	"math"
	"testing"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
		q       float64
		want    float64
	}{
		{"median of odd count", []float64{5, 1, 3}, 0.5, 3},
		{"nearest rank rounds up", []float64{1, 2, 3, 4}, 0.5, 2},
		{"p99 of 1..100", seq(100), 0.99, 99},
		{"p999 of 1..1000", seq(1000), 0.999, 999},
		{"max", []float64{2, 9, 4}, 1, 9},
		{"tiny q gives the minimum", []float64{7, 3, 5}, 0.0001, 3},
		{"single sample", []float64{42}, 0.99, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.samples, tt.q); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.samples, tt.q, got, tt.want)
			}
		})
	}
	if !math.IsNaN(Percentile(nil, 0.5)) {
		t.Error("Percentile of no sample is not NaN")
	}
	in := []float64{3, 1, 2}
	Percentile(in, 0.5)
	if in[0] != 3 || in[1] != 1 {
		t.Error("Percentile reordered its input")
	}
}

// seq returns 1..n as floats.
func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i + 1)
	}
	return s
}

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		values []float64
		want   Summary
	}{
		{"odd", []float64{30, 10, 20}, Summary{Median: 20, Min: 10, Max: 30, N: 3}},
		{"even", []float64{4, 1, 3, 2}, Summary{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{"NaN skipped", []float64{nan, 5, nan, 7, 6}, Summary{Median: 6, Min: 5, Max: 7, N: 3}},
		{"one", []float64{9}, Summary{Median: 9, Min: 9, Max: 9, N: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.values); got != tt.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tt.values, got, tt.want)
			}
		})
	}
	if s := Summarize([]float64{nan}); s.N != 0 || !math.IsNaN(s.Median) || !math.IsNaN(s.Min) {
		t.Errorf("Summarize of nothing usable = %+v", s)
	}
}
