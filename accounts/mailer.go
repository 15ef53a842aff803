package accounts

import (
	"fmt"
	"net/smtp"
	"strings"
	"time"
)

// Mailer sends one message. The SMTP mailer is the real one; without a
// Mailer, mail is written as files under OutDir/outbox.
type Mailer interface {
	// Send sends one message dated at (the service's clock, never the wall's).
	Send(to, subject, body string, at time.Time) error
}

// SMTPMailer sends through an SMTP relay (net/smtp: STARTTLS when the server
// offers it, PLAIN authentication when a user is set).
type SMTPMailer struct {
	Addr     string // host:port
	From     string
	User     string
	Password string
}

// maxHeaderText bounds a subject or address written into a header.
const maxHeaderText = 998

// Send sends one plain-text message. Header values with line breaks are
// refused (header injection).
func (m SMTPMailer) Send(to, subject, body string, at time.Time) error {
	for _, v := range []string{to, subject, m.From} {
		if strings.ContainsAny(v, "\r\n") || len(v) > maxHeaderText {
			return fmt.Errorf("smtp: refusing a header value with a line break or over %d characters", maxHeaderText)
		}
	}
	var auth smtp.Auth
	if m.User != "" {
		host, _, _ := strings.Cut(m.Addr, ":")
		auth = smtp.PlainAuth("", m.User, m.Password, host)
	}
	message := "From: " + m.From + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nDate: " + at.UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
	if err := smtp.SendMail(m.Addr, auth, m.From, []string{to}, []byte(message)); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}
