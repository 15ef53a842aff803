package jobs

import "time"

// WithFireEvery makes River fire every job every interval instead of on its
// cron schedule (whose resolution is a minute); occurrences still come from
// the cron schedule at the configured Clock.
func WithFireEvery(config Config, every time.Duration) Config {
	config.fireEvery = every
	return config
}

// WithBusyRetryDelay shortens the snooze of an occurrence whose job is
// already running elsewhere.
func WithBusyRetryDelay(config Config, delay time.Duration) Config {
	config.busyRetryDelay = delay
	return config
}

// ForTests drops River's random start-up delays (up to a second per
// maintenance service, the periodic enqueuer last).
func ForTests(config Config) Config {
	config.testOnly = true
	return config
}

// PreviousFire exposes previousFire for table tests.
func PreviousFire(expression string, t time.Time) (time.Time, bool) {
	schedule, err := ParseSchedule("test", expression)
	if err != nil {
		panic(err)
	}
	return previousFire(schedule, t)
}
