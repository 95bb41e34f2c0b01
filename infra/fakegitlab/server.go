package fakegitlab

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Version is what GET /api/v4/version reports.
const Version = "17.5.0-ee"

// Options configure a Server. The zero value is usable.
type Options struct {
	// RootToken is the personal access token of the admin user root.
	// Empty: a random glpat- token (see Server.RootToken).
	RootToken string
	// ExtraUsers are added after root, alice, bob, mallory and carol. A zero
	// ID is assigned, an empty Password becomes "password", an empty State
	// "active". An entry with the username of a default user changes that
	// user instead (its non-zero fields win; the ID stays), so "carol" with a
	// password of its own still works as it did before carol was a default.
	ExtraUsers []User
	// ExtraGroups are created after the default groups eng, eng/platform and
	// ops, in order (so a parent comes before its subgroups). An invalid
	// entry panics in New: it is a bug in the test.
	ExtraGroups []GroupSpec
	// Now is the clock for code, token and session expiry. Default time.Now.
	Now func() time.Time
	// BaseURL fixes the external URL (issuer, endpoints, web_url). Empty: the
	// URL Start listens on; when only Handler is used, the request's host.
	BaseURL string
	// AutoApprove, when set to a username, signs that user in on
	// /oauth/authorize without a form and skips the consent page. It exists
	// for benchmarks and load tests; it is off unless set here.
	AutoApprove string
}

// User is a GitLab account.
type User struct {
	ID       int
	Username string
	Name     string
	Email    string
	Password string
	// State is GitLab's user state: "active", "blocked", "deactivated", ...
	State     string
	Admin     bool
	CreatedAt time.Time
	// Profile fields GitLab shows in /api/v4/user; PUT /api/v4/users/:id
	// sets them. Empty: "" (Pronouns: null).
	Bio, Location, Organization, JobTitle, WebsiteURL, Pronouns string
}

// Application is an OAuth application (a Doorkeeper client).
type Application struct {
	ID           int
	UID          string // the client id ("Application ID" in GitLab's UI)
	Secret       string
	Name         string
	RedirectURIs []string
	Scopes       []string
	Confidential bool
	Trusted      bool
	OwnerID      int // 0 for instance-wide (admin area and API) applications
	CreatedAt    time.Time
}

// Server is one fake GitLab instance. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	now     func() time.Time
	handler http.Handler
	// requests logs every request's method and path (Requests).
	requests requestLog

	signKey *rsa.PrivateKey
	kid     string

	mu         sync.Mutex
	baseURL    string
	rootToken  string
	fault      Fault
	users      []*User
	apps       []*Application
	nextApp    int
	sessions   map[string]*session
	grants     map[string]*grant
	tokens     map[string]*accessToken // by access token
	refreshes  map[string]*accessToken // by refresh token
	pats       map[string]*personalToken
	groups     []*group
	nextGroup  int
	nextMember int

	caPEM    []byte
	caPool   *x509.CertPool
	httpSrv  *http.Server
	listener net.Listener
}

// New builds a Server with its users and a fresh RSA signing key.
func New(opts Options) *Server {
	s := &Server{
		opts:      opts,
		now:       opts.Now,
		baseURL:   strings.TrimRight(opts.BaseURL, "/"),
		rootToken: opts.RootToken,
		nextApp:   1,
		nextGroup: firstGroupID,
		sessions:  map[string]*session{},
		grants:    map[string]*grant{},
		tokens:    map[string]*accessToken{},
		refreshes: map[string]*accessToken{},
		pats:      map[string]*personalToken{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rootToken == "" {
		s.rootToken = "glpat-" + randomString(20)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("fakegitlab: generating the RSA key: " + err.Error())
	}
	s.signKey = key
	s.kid = jwkThumbprint(&key.PublicKey)

	created := s.now().UTC().Add(-365 * 24 * time.Hour).Truncate(time.Second)
	s.seedUsers(created)
	s.seedGroups(created)
	s.pats[s.rootToken] = &personalToken{UserID: 1, Scopes: []string{"api", "sudo", "admin_mode"}}
	s.handler = s.requests.wrap(s.routes())
	return s
}

// seedUsers creates the default accounts and Options.ExtraUsers.
func (s *Server) seedUsers(created time.Time) {
	s.users = []*User{
		{ID: 1, Username: "root", Name: "Administrator", Email: "admin@example.com", Admin: true},
		{ID: 2, Username: "alice", Name: "Alice Liddell", Email: "alice@example.com"},
		{ID: 3, Username: "bob", Name: "Bob Builder", Email: "bob@example.com"},
		{ID: 4, Username: "mallory", Name: "Mallory Blocked", Email: "mallory@example.com", State: "blocked"},
		{ID: 5, Username: "carol", Name: "Carol Shaw", Email: "carol@example.com"},
	}
	next := 6
	for _, u := range s.opts.ExtraUsers {
		u := u
		if existing := s.userByUsernameLocked(u.Username); existing != nil {
			mergeUser(existing, u)
			continue
		}
		if u.ID == 0 {
			u.ID = next
		}
		if u.ID >= next {
			next = u.ID + 1
		}
		if u.Name == "" {
			u.Name = u.Username
		}
		if u.Email == "" {
			u.Email = u.Username + "@example.com"
		}
		s.users = append(s.users, &u)
	}
	for _, u := range s.users {
		if u.Password == "" {
			u.Password = "password"
		}
		if u.State == "" {
			u.State = "active"
		}
		if u.CreatedAt.IsZero() {
			u.CreatedAt = created
		}
	}
}

// mergeUser applies the non-zero fields of an ExtraUsers entry to a
// default user, keeping its ID.
func mergeUser(dst *User, src User) {
	id := dst.ID
	for _, f := range []struct{ to, from *string }{
		{&dst.Name, &src.Name}, {&dst.Email, &src.Email}, {&dst.Password, &src.Password},
		{&dst.State, &src.State}, {&dst.Bio, &src.Bio}, {&dst.Location, &src.Location},
		{&dst.Organization, &src.Organization}, {&dst.JobTitle, &src.JobTitle},
		{&dst.WebsiteURL, &src.WebsiteURL}, {&dst.Pronouns, &src.Pronouns},
	} {
		if *f.from != "" {
			*f.to = *f.from
		}
	}
	dst.Admin = dst.Admin || src.Admin
	if !src.CreatedAt.IsZero() {
		dst.CreatedAt = src.CreatedAt
	}
	dst.ID = id
}

// Handler serves the whole fake GitLab, faults included.
func (s *Server) Handler() http.Handler { return s.handler }

// RootToken is the personal access token of root (admin, scope api).
func (s *Server) RootToken() string { return s.rootToken }

// BaseURL is the external URL: Options.BaseURL, else the one Start returned;
// empty before Start when neither is known.
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// With useTLS it serves https with a certificate for 127.0.0.1, ::1 and
// localhost, signed by a CA generated now (CACertPEM). An unspecified host
// (":8929") is reported as 127.0.0.1 in the base URL.
//
// (See NewHTTPServer for the timeouts.)
func (s *Server) Start(addr string, useTLS bool) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := NewHTTPServer(s.handler)
	scheme := "http"
	if useTLS {
		caPEM, leaf, err := generateCertificates()
		if err != nil {
			ln.Close()
			return "", err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
		scheme = "https"
		s.mu.Lock()
		s.caPEM, s.caPool = caPEM, pool
		s.mu.Unlock()
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := scheme + "://" + net.JoinHostPort(host, port)

	s.mu.Lock()
	if s.baseURL == "" {
		s.baseURL = base
	} else {
		base = s.baseURL
	}
	s.httpSrv, s.listener = srv, ln
	s.mu.Unlock()

	go func() {
		if useTLS {
			_ = srv.ServeTLS(ln, "", "")
		} else {
			_ = srv.Serve(ln)
		}
	}()
	return base, nil
}

// Close stops a server started with Start; open connections are cut.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.httpSrv
	s.httpSrv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Shutdown stops a server started with Start gracefully.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.httpSrv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// CACertPEM is the PEM of the CA that signed the TLS certificate; nil
// unless Start was called with TLS.
func (s *Server) CACertPEM() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caPEM
}

// Client returns an HTTP client that trusts the server's CA (when TLS) and
// does not follow redirects, so callers can inspect GitLab's 302s.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	s.mu.Lock()
	if s.caPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}
	}
	s.mu.Unlock()
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CreateApplication registers an OAuth application as an admin would in the
// admin area. Scopes must be GitLab scope names; redirectURI may hold several
// URIs separated by newlines, as in GitLab's form.
func (s *Server) CreateApplication(name, redirectURI string, scopes []string, confidential, trusted bool) Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.createAppLocked(name, splitRedirectURIs(redirectURI), scopes, confidential, trusted, 0)
}

// UpdateApplication changes a registered application in place, as its owner does on
// GitLab's edit page (ticking Confidential, say). Its ids and secret cannot change. It
// reports whether an application with client id uid exists.
func (s *Server) UpdateApplication(uid string, update func(a *Application)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appByUIDLocked(uid)
	if a == nil {
		return false
	}
	id, secret := a.ID, a.Secret
	update(a)
	a.ID, a.UID, a.Secret = id, uid, secret
	return true
}

// Applications lists the registered applications.
func (s *Server) Applications() []Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Application, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, *a)
	}
	return out
}

// Users lists the accounts.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, *u)
	}
	return out
}

// SetUserState changes a user's state ("active", "blocked", ...), e.g. to
// block someone between two sign-ins. It reports whether the user exists.
func (s *Server) SetUserState(username, state string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByLoginLocked(username); u != nil {
		u.State = state
		return true
	}
	return false
}

// UpdateUser changes a user in place, e.g. to give them a hostile profile
// without the API's validation. The ID cannot change. It reports whether
// the user exists.
func (s *Server) UpdateUser(username string, update func(u *User)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByUsernameLocked(username)
	if u == nil {
		return false
	}
	id := u.ID
	update(u)
	u.ID = id
	return true
}

// CreatePersonalAccessToken issues a glpat- token for username with the
// given scopes (default api). It panics for an unknown user: a test bug.
func (s *Server) CreatePersonalAccessToken(username string, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByLoginLocked(username)
	if u == nil {
		panic("fakegitlab: unknown user " + username)
	}
	if len(scopes) == 0 {
		scopes = []string{"api"}
	}
	tok := "glpat-" + randomString(20)
	s.pats[tok] = &personalToken{UserID: u.ID, Scopes: scopes}
	return tok
}

func (s *Server) createAppLocked(name string, uris, scopes []string, confidential, trusted bool, owner int) *Application {
	a := &Application{
		ID:           s.nextApp,
		UID:          randomHex(32),
		Secret:       "gloas-" + randomHex(32),
		Name:         name,
		RedirectURIs: uris,
		Scopes:       append([]string(nil), scopes...),
		Confidential: confidential,
		Trusted:      trusted,
		OwnerID:      owner,
		CreatedAt:    s.now().UTC(),
	}
	s.nextApp++
	s.apps = append(s.apps, a)
	return a
}

func (s *Server) appByUIDLocked(uid string) *Application {
	for _, a := range s.apps {
		if a.UID == uid {
			return a
		}
	}
	return nil
}

func (s *Server) userByIDLocked(id int) *User {
	for _, u := range s.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

// userByLoginLocked finds a user by username or e-mail, as GitLab's sign-in
// form accepts either.
func (s *Server) userByLoginLocked(login string) *User {
	for _, u := range s.users {
		if strings.EqualFold(u.Username, login) || strings.EqualFold(u.Email, login) {
			return u
		}
	}
	return nil
}

// base is the external URL used in documents and redirects. It never comes
// from the Host header when known, so the OIDC issuer is stable.
func (s *Server) base(r *http.Request) string {
	s.mu.Lock()
	b := s.baseURL
	s.mu.Unlock()
	if b != "" {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func splitRedirectURIs(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomString(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))[:n]
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var errNotFound = errors.New("not found")

func atoi(s string) (int, error) {
	var n int
	if s == "" || len(s) > 9 {
		return 0, errNotFound
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errNotFound
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func itoa(n int) string { return fmt.Sprint(n) }

// NewHTTPServer is an http.Server for h with every timeout set: without them one client
// that trickles a request's headers or body, or never reads the answer, holds a
// connection and a goroutine for ever (the local runner and the fake GitLab both listen
// on ports other programs can reach). WriteTimeout leaves room for Fault.Slow delays of
// a minute; the local runner uses it too.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}
