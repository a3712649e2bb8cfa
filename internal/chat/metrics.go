package chat

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the hub's Prometheus collectors.
type Metrics struct {
	Connections prometheus.Gauge
	Rooms       prometheus.Gauge
	Received    prometheus.Counter
	Broadcasts  prometheus.Counter
	Delivered   prometheus.Counter
	SlowDropped prometheus.Counter
	RateLimited prometheus.Counter
}

// NewMetrics creates the collectors and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_connections", Help: "Open WebSocket connections."}),
		Rooms:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_rooms", Help: "Rooms with members on this node."}),
		Received:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_messages_received_total", Help: "Chat messages received and stored."}),
		Broadcasts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_broadcasts_total", Help: "Room events fanned out (messages, joins, leaves, typing)."}),
		Delivered:   prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_deliveries_total", Help: "Room events queued to a connection."}),
		SlowDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_slow_clients_dropped_total", Help: "Connections closed because their send queue was full."}),
		RateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_rate_limited_total", Help: "Client events refused by the per-connection rate limit."}),
	}
	if reg != nil {
		reg.MustRegister(m.Connections, m.Rooms, m.Received, m.Broadcasts, m.Delivered, m.SlowDropped, m.RateLimited)
	}
	return m
}
