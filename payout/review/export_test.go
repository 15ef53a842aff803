package review

// CursorAfter is the cursor of the page that starts after row in f's
// order: tests and benchmarks jump into the middle of the table with it
// instead of walking to there.
func CursorAfter(f Filter, row PublisherRow) string {
	c := cursor{sort: f.sort(), desc: f.Desc, accountID: row.AccountID, seller: row.SellerID}
	c.amount = sortAmount(c.sort, row)
	return c.encode()
}
