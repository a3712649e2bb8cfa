package cluster_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkDeliveryLatency measures the time from sending a message to
// another user's receiving it, one message at a time: on a single node with
// the embedded defaults, on one node of a cluster, and across two nodes of
// a cluster (PostgreSQL and Redis on this machine). Run it with
//
//	go test -run '^$' -bench DeliveryLatency -benchtime 2000x ./e2e/cluster
//
// It reports the p50 and p99 in milliseconds.
func BenchmarkDeliveryLatency(b *testing.B) {
	cases := []struct {
		name  string
		nodes func(b *testing.B) (from, to *node)
	}{
		{"single-node-sqlite", func(b *testing.B) (*node, *node) {
			n := startNode(b, "-data", b.TempDir())
			return n, n
		}},
		{"cluster-same-node", func(b *testing.B) (*node, *node) {
			n := newCluster(b).start()
			return n, n
		}},
		{"cluster-cross-node", func(b *testing.B) (*node, *node) {
			c := newCluster(b)
			return c.start(), c.start()
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			from, to := tc.nodes(b)
			sender, _ := from.connect(from.register("sender"))
			receiver, _ := to.connect(to.register("receiver"))
			sender.changeRoom("bench", -1)
			receiver.changeRoom("bench", -1)
			lat := make([]time.Duration, 0, b.N)
			var last int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				sender.send("send_message", map[string]string{"message": fmt.Sprint("m", i)}, "")
				m := receiver.messages(1, last)[0]
				lat = append(lat, time.Since(start))
				last = m.ID
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
