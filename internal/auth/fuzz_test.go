package auth

import (
	"context"
	"encoding/base64"
	"testing"
	"time"
)

// FuzzParseTicket feeds arbitrary strings to the ticket check: it must never
// panic, must accept only the canonical 43-character base64url form, and
// must never redeem a string that was not issued.
func FuzzParseTicket(f *testing.F) {
	tk := NewTickets(NewMemoryTickets(nil), time.Minute, nil)
	issued, err := tk.Issue(context.Background(), "ann", "s")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued)
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")
	f.Add("../../etc/passwd")
	f.Fuzz(func(t *testing.T, s string) {
		valid := ValidTicket(s)
		if valid {
			b, err := base64.RawURLEncoding.Strict().DecodeString(s)
			if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != s {
				t.Fatalf("ValidTicket(%q) but it is not a canonical 32-byte ticket", s)
			}
		}
		if s == issued {
			return
		}
		if _, err := tk.Redeem(context.Background(), s); err == nil {
			t.Fatalf("redeemed %q, which was never issued", s)
		}
	})
}
