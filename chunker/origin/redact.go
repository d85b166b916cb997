package origin

import "net/url"

// Redact returns an origin URL fit for logs and errors: without the user
// and password, and with the query string (a token, a presigned signature)
// replaced by "?REDACTED".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "REDACTED", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
