package main

import (
	"fmt"
	"github.com/payrun/payrun/ledger"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) holdCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "hold", Short: "Switch a publisher's payment hold on or off, or show it"}
	for _, on := range []bool{true, false} {
		var seller, actor string
		name := map[bool]string{true: "on", false: "off"}[on]
		sub := &cobra.Command{
			Use:   name + " --seller S",
			Short: "Switch the payment hold " + name + " (counts for every cycle whose cutoff comes after now)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
					changed, err := s.cycles.SetHold(cmd.Context(), account.ID, on, actor)
					if err != nil {
						return err
					}
					if !changed {
						fmt.Fprintf(a.stdout, "payment hold of %s was already %s\n", seller, name)
						return nil
					}
					fmt.Fprintf(a.stdout, "payment hold of %s is %s from %s\n", seller, name, a.now().Format(time.RFC3339))
					return nil
				})
			},
		}
		sub.Flags().StringVar(&seller, "seller", "", "seller id")
		actorFlag(sub, &actor)
		cmd.AddCommand(sub)
	}
	var seller string
	show := &cobra.Command{
		Use:   "show --seller S",
		Short: "Show the payment hold and its history",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				history, err := s.cycles.HoldHistory(cmd.Context(), account.ID)
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(history)
				}
				state := "off"
				if len(history) > 0 && history[len(history)-1].On {
					state = "on since " + history[len(history)-1].At.Format(time.RFC3339)
				}
				fmt.Fprintf(a.stdout, "payment hold of %s: %s\n", seller, state)
				for _, e := range history {
					fmt.Fprintf(a.stdout, "  %s  %-3s  by %s\n", e.At.Format(time.RFC3339), map[bool]string{true: "on", false: "off"}[e.On], e.Actor)
				}
				return nil
			})
		},
	}
	show.Flags().StringVar(&seller, "seller", "", "seller id")
	a.addJSONFlag(show)
	cmd.AddCommand(show)
	return cmd
}
