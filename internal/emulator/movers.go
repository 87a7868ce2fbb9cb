package emulator

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// moversState holds the one live login. The vendor voids every earlier token
// and refresh token on each Password grant, so there is never more than one
// generation to remember; an activation spends the refresh token (refresh
// is then "") and keeps the token.
type moversState struct {
	token, refresh       string
	tokenExp, refreshExp time.Time
}

type moversRequest struct {
	XMLName      xml.Name `json:"-" xml:"MobileTokenRequest"`
	GrantType    string   `json:"grant_type" xml:"grant_type"`
	CompanyID    string   `json:"company_id" xml:"company_id"`
	Username     string   `json:"username" xml:"username"`
	Password     string   `json:"password" xml:"password"`
	Token        string   `json:"token" xml:"token"`
	ClientID     string   `json:"client_id" xml:"client_id"`
	ClientSecret string   `json:"client_secret" xml:"client_secret"`
}

func (s *Server) routeMovers(mux *http.ServeMux) {
	mux.HandleFunc("POST /moversconnect/mobiletoken", s.tokenEndpoint(MoversConnect, s.moversToken))
	mux.HandleFunc("POST /moversconnect/mobileapi/localservicesinquiry", s.moversInquiry)
}

// moversWantsXML follows ASP.NET Web API content negotiation: Accept first,
// then the request's own Content-Type.
func moversWantsXML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		switch mediaType(part) {
		case "application/xml", "text/xml":
			return true
		case "application/json", "text/json":
			return false
		}
	}
	switch mediaType(r.Header.Get("Content-Type")) {
	case "application/xml", "text/xml":
		return true
	}
	return false
}

func parseMoversRequest(r *http.Request) (moversRequest, error) {
	var req moversRequest
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return req, err
	}
	switch ct := mediaType(r.Header.Get("Content-Type")); ct {
	case "application/json", "text/json":
		err = json.Unmarshal(body, &req)
	case "application/xml", "text/xml":
		err = xml.Unmarshal(body, &req)
	case "application/x-www-form-urlencoded":
		var v url.Values
		v, err = url.ParseQuery(string(body))
		if err == nil {
			req = moversRequest{
				GrantType: v.Get("grant_type"), CompanyID: v.Get("company_id"),
				Username: v.Get("username"), Password: v.Get("password"), Token: v.Get("token"),
				ClientID: v.Get("client_id"), ClientSecret: v.Get("client_secret"),
			}
		}
	default:
		err = fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return req, err
}

func (s *Server) moversToken(w http.ResponseWriter, r *http.Request) {
	asXML := moversWantsXML(r)
	req, err := parseMoversRequest(r)
	if err != nil {
		moversError(w, asXML, http.StatusBadRequest, "Invalid request")
		return
	}
	if req.ClientID != MoversClientID || req.ClientSecret != MoversClientSecret {
		moversError(w, asXML, http.StatusUnauthorized, "Invalid client")
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.movers
	switch req.GrantType {
	case "Password":
		// "up to 15 characters": characters, not bytes.
		if req.CompanyID == "" || req.Username == "" || req.Password == "" || utf8.RuneCountInString(req.CompanyID) > 15 {
			moversError(w, asXML, http.StatusBadRequest, "Invalid request")
			return
		}
		if req.CompanyID != MoversCompanyID || req.Username != MoversUsername || req.Password != MoversPassword {
			moversError(w, asXML, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		// Overwriting the one generation is what voids all earlier tokens.
		*st = moversState{
			token:      randHex(16),
			refresh:    randHex(16),
			tokenExp:   now.Add(s.lifetime(MoversConnect, MoversTokenLifetime)),
			refreshExp: now.Add(MoversRefreshLifetime),
		}
		moversAnswer(w, asXML, st.refreshExp.Unix(), &st.refresh, &st.token, st.tokenExp.Unix())
	case "Token":
		if req.Token == "" {
			moversError(w, asXML, http.StatusBadRequest, "Invalid request")
			return
		}
		if st.refresh == "" || req.Token != st.refresh || !now.Before(st.refreshExp) {
			moversError(w, asXML, http.StatusUnauthorized, "Invalid token")
			return
		}
		// The page: activation is to "extend the token for 90 days", and
		// "Continue to use the Token value" afterwards; its NOTE voids every
		// earlier token and refresh token on "a grant_type of Password or
		// RefreshToken". Faithful to both: the Token survives, extended to
		// now+90d, and the refresh token is spent, so activating it again is
		// refused [inferred: single use]. RefreshExpires still reports its
		// original expiry, as the page's activation example repeats it.
		st.refresh = ""
		st.tokenExp = now.Add(MoversRefreshLifetime)
		moversAnswer(w, asXML, st.refreshExp.Unix(), nil, nil, st.tokenExp.Unix())
	default:
		moversError(w, asXML, http.StatusBadRequest, "Unsupported grant_type")
	}
}

// moversAnswer writes the token response; a nil token is JSON null, or in
// XML an empty element with i:nil="true", the way .NET's
// DataContractSerializer writes nulls [inferred: XML answers are
// undocumented]. Elements are in the alphabetical order that serializer uses,
// which is also the order of the JSON examples.
func moversAnswer(w http.ResponseWriter, asXML bool, refreshExp int64, refresh, token *string, tokenExp int64) {
	if asXML {
		var b strings.Builder
		b.WriteString(`<MobileTokenResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance">`)
		fmt.Fprintf(&b, "<RefreshExpires>%d</RefreshExpires>", refreshExp)
		xmlOptional(&b, "RefreshToken", refresh)
		xmlOptional(&b, "Token", token)
		fmt.Fprintf(&b, "<TokenExpires>%d</TokenExpires>", tokenExp)
		b.WriteString("</MobileTokenResponse>")
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, b.String())
		return
	}
	var o jobj
	o.int("RefreshExpires", refreshExp)
	if refresh != nil {
		o.str("RefreshToken", *refresh)
	} else {
		o.null("RefreshToken")
	}
	if token != nil {
		o.str("Token", *token)
	} else {
		o.null("Token")
	}
	o.int("TokenExpires", tokenExp)
	writeJSON(w, http.StatusOK, o.String())
}

func xmlOptional(b *strings.Builder, name string, v *string) {
	if v == nil {
		fmt.Fprintf(b, `<%s i:nil="true"/>`, name)
		return
	}
	fmt.Fprintf(b, "<%s>", name)
	_ = xml.EscapeText(b, []byte(*v))
	fmt.Fprintf(b, "</%s>", name)
}

// moversError answers in the style of EWS's sibling APIs (VendorConnect):
// {"ErrorCode":…,"ProcessingMessage":…} [inferred: the Mobile Token page
// documents no errors]. XML requests get the same fields under <Error>.
func moversError(w http.ResponseWriter, asXML bool, status int, msg string) {
	if asXML {
		var b strings.Builder
		fmt.Fprintf(&b, "<Error><ErrorCode>%d</ErrorCode><ProcessingMessage>", status)
		_ = xml.EscapeText(&b, []byte(msg))
		b.WriteString("</ProcessingMessage></Error>")
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, b.String())
		return
	}
	var o jobj
	o.int("ErrorCode", int64(status)).str("ProcessingMessage", msg)
	writeJSON(w, status, o.String())
}

// moversInquiry is the Local Service Inquiry: it only checks the Token
// header [inferred name] and answers a small fixed payload.
func (s *Server) moversInquiry(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("Token")
	now := s.now()
	s.mu.Lock()
	st := s.movers
	s.mu.Unlock()
	if tok == "" || st.token == "" || tok != st.token || !now.Before(st.tokenExp) {
		moversError(w, moversWantsXML(r), http.StatusUnauthorized, "Invalid token")
		return
	}
	writeJSON(w, http.StatusOK, `{"ProcessingMessage":"OK","LocalServices":[{"Code":"PACK","Description":"Packing"},{"Code":"MOVE","Description":"Local move"}]}`)
}
