package accounts

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
)

// smtpSink is a minimal SMTP server for tests: it accepts every message
// and keeps it.
type smtpSink struct {
	listener net.Listener
	mu       sync.Mutex
	messages []string
}

func newSMTPSink(t *testing.T) *smtpSink {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sink := &smtpSink{listener: listener}
	t.Cleanup(func() { listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go sink.serve(conn)
		}
	}()
	return sink
}

func (s *smtpSink) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func(line string) { conn.Write([]byte(line + "\r\n")) }
	reply("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		command := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(command, "EHLO"), strings.HasPrefix(command, "HELO"):
			reply("250 sink")
		case strings.HasPrefix(command, "DATA"):
			reply("354 go on")
			var message strings.Builder
			for {
				data, err := r.ReadString('\n')
				if err != nil || data == ".\r\n" {
					break
				}
				message.WriteString(data)
			}
			s.mu.Lock()
			s.messages = append(s.messages, message.String())
			s.mu.Unlock()
			reply("250 queued")
		case strings.HasPrefix(command, "QUIT"):
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

func (s *smtpSink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

// With SMTP configured, an invitation is sent through it with its token,
// while the outbox row keeps only the redacted body.
func TestInvitationsGoOutThroughSMTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, ledger.Company)
	sink := newSMTPSink(t)
	f.svc.Mailer = SMTPMailer{Addr: sink.listener.Addr().String(), From: "payrun@example.com"}
	invitations, err := f.svc.Invite(ctx, f.admin, f.account.ID, f.tenant.TenantID, "guest@example.org", []Role{RoleDeveloper})
	require.NoError(t, err)
	require.Len(t, invitations, 1)

	messages := sink.received()
	require.Len(t, messages, 1)
	require.Contains(t, messages[0], "To: guest@example.org")
	require.Contains(t, messages[0], "Date: "+f.clock.now().Format(time.RFC1123Z), "dated by the injected clock")
	var stored struct {
		Body    string `db:"body"`
		SentVia string `db:"sent_via"`
	}
	require.NoError(t, f.svc.DB.Get(&stored, `SELECT body, sent_via FROM outbox ORDER BY id DESC LIMIT 1`))
	require.Equal(t, "smtp", stored.SentVia)
	require.Contains(t, stored.Body, "[redacted]")
	require.NotContains(t, messages[0], "[redacted]", "the delivered message carries the real token")

	require.ErrorContains(t, SMTPMailer{Addr: sink.listener.Addr().String(), From: "x@example.com"}.Send("a@example.com\r\nBcc: b@example.com", "s", "b", f.clock.now()),
		"line break")
}
