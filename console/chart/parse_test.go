package chart

import (
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/stretchr/testify/require"
)

// node is an element of a parsed chart: the tests read the SVG back with
// encoding/xml's strict decoder, as a browser's XML parser would, rather
// than matching the text.
type node struct {
	name     string
	attrs    map[string]string
	children []*node
	text     string // character data directly inside, concatenated
}

// tb is what the helpers need of *testing.T and *rapid.T alike.
type tb interface {
	require.TestingT
	Helper()
}

func parseSVG(t tb, svg template.HTML) *node {
	t.Helper()
	root, err := parse(string(svg))
	require.NoError(t, err, "the chart is not well-formed XML:\n%s", svg)
	return root
}

func parse(svg string) (*node, error) {
	decoder := xml.NewDecoder(strings.NewReader(svg))
	decoder.Strict = true
	var stack []*node
	var root *node
	for {
		token, err := decoder.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch token := token.(type) {
		case xml.StartElement:
			n := &node{name: token.Name.Local, attrs: map[string]string{}}
			for _, a := range token.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(token)
			}
		}
	}
}

// all returns every element below n (n included) that matches.
func (n *node) all(match func(*node) bool) []*node {
	var found []*node
	var walk func(*node)
	walk = func(m *node) {
		if match(m) {
			found = append(found, m)
		}
		for _, c := range m.children {
			walk(c)
		}
	}
	walk(n)
	return found
}

// hasClass matches elements whose class attribute holds the token.
func hasClass(token string) func(*node) bool {
	return func(n *node) bool {
		for _, c := range strings.Fields(n.attrs["class"]) {
			if c == token {
				return true
			}
		}
		return false
	}
}

func named(name string) func(*node) bool {
	return func(n *node) bool { return n.name == name }
}

// number reads a numeric attribute.
func (n *node) number(t tb, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attrs[attr], 64)
	require.NoError(t, err, "<%s %s=%q>", n.name, attr, n.attrs[attr])
	return v
}

// child returns the first direct child with the name, or nil.
func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// requireAccessible checks what every chart must hold: role="img" named by
// its <title> and <desc>, every id prefixed and unique, and no NaN or Inf.
func requireAccessible(t tb, svg template.HTML, root *node, id string) {
	t.Helper()
	require.Equal(t, "svg", root.name)
	require.Equal(t, "img", root.attrs["role"])
	require.Equal(t, "100%", root.attrs["width"])
	require.Equal(t, id+"-title "+id+"-desc", root.attrs["aria-labelledby"])
	title, desc := root.children[0], root.children[1]
	require.Equal(t, "title", title.name)
	require.Equal(t, id+"-title", title.attrs["id"])
	require.NotEmpty(t, strings.TrimSpace(title.text))
	require.Equal(t, "desc", desc.name)
	require.Equal(t, id+"-desc", desc.attrs["id"])

	seen := map[string]bool{}
	for _, n := range root.all(func(n *node) bool { _, ok := n.attrs["id"]; return ok }) {
		require.True(t, strings.HasPrefix(n.attrs["id"], id+"-"), "id %q is not prefixed with %q", n.attrs["id"], id)
		require.False(t, seen[n.attrs["id"]], "id %q twice", n.attrs["id"])
		seen[n.attrs["id"]] = true
	}
	// The page's Content-Security-Policy has no 'unsafe-inline': no style
	// attribute, no <style> or <script> element; every coordinate a finite
	// number.
	for _, n := range root.all(func(*node) bool { return true }) {
		require.NotContains(t, []string{"style", "script", "foreignObject"}, n.name)
		_, styled := n.attrs["style"]
		require.False(t, styled, "<%s> has a style attribute", n.name)
		for _, attr := range []string{"x", "y", "width", "height", "x1", "y1", "x2", "y2", "rx"} {
			if _, ok := n.attrs[attr]; ok && !(n.name == "svg" && attr == "width") {
				v := n.number(t, attr)
				require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "<%s %s=%v>", n.name, attr, v)
			}
		}
	}
	require.NotContains(t, string(svg), "<script")
}
