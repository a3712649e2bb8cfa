package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/parley-chat/parley/bench/load"
)

// printJSON writes r as one JSON line; null stands for a value not measured.
func printJSON(w io.Writer, r load.Result) {
	b, err := json.Marshal(r)
	if err != nil {
		fmt.Fprintln(w, `{"error":"cannot encode the result"}`)
		return
	}
	fmt.Fprintln(w, string(b))
}

// num formats v with prec decimals, or "-" when it was not measured.
func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// printTable writes r as a table for a person.
func printTable(w io.Writer, r load.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	switch r.Scenario {
	case load.ScenarioIdle:
		fmt.Fprintln(tw, "target\tconns\tconnected\talive\tRSS before MiB\tRSS after MiB\tKiB/conn\terrors\t")
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t\n", r.Target, r.Conns, r.Connected, r.Alive,
			num(r.RSSBefore/(1<<20), 1), num(r.RSSAfter/(1<<20), 1), num(r.PerConn/1024, 2), r.Errors)
	case load.ScenarioFanout:
		fmt.Fprintln(tw, "target\trooms×members\trate msg/s\tsent\tdeliveries\tdeliveries/s\tp50 ms\tp99 ms\tp999 ms\tlost\tdup\terrors\tCPU s/100k\t")
		rows := r.Steps
		if len(rows) == 0 {
			rows = []load.Result{r}
		}
		for _, s := range rows {
			fmt.Fprintf(tw, "%s\t%d×%d\t%.0f\t%d\t%d\t%.0f\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", s.Target, s.Rooms, s.Members,
				s.Rate, s.Sent, s.Deliveries, s.PerSec, num(s.P50, 2), num(s.P99, 2), num(s.P999, 2),
				s.Lost, s.Duplicates, s.Errors, num(s.CPUPer100k, 2))
		}
		if len(r.Steps) > 0 {
			fmt.Fprintf(tw, "highest passing rate\t%.0f msg/s\t\t\t\t\t\t\t\t\t\t\t\t\n", r.MaxRate)
		}
	case load.ScenarioConnect:
		fmt.Fprintln(tw, "target\tclients\treached room_joined\tsessions/s\tp50 ms\tp99 ms\terrors\tserver CPU µs/session\t")
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%d\t%s\t\n", r.Target, r.Conns, r.Sessions, r.PerSec,
			num(r.P50, 2), num(r.P99, 2), r.Errors, num(r.CPUPerSession, 0))
	}
}
