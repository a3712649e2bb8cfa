package chat

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/internal/broker"
	"github.com/parley-chat/parley/internal/store"
)

// Config sets up a Hub. Zero values take the defaults noted.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// NewBroker builds the fan-out between nodes, given the hub's delivery
	// function and the hub as the source of stored messages. Nil:
	// broker.NewLocal.
	NewBroker broker.NewFunc
	// Presence tracks who is in which room across a cluster. Nil: this
	// node's own members are all there is.
	Presence Presence
	// EndSession, when set, tells the other nodes of a cluster that a
	// session has logged out, so that they close its sockets too.
	EndSession func(ctx context.Context, session string) error
	Metrics    *Metrics
	// MsgRate and MsgBurst bound the events a connection may send (10, 20).
	MsgRate  float64
	MsgBurst int
	// QueueFrames and QueueBytes bound each client's send queue (1024
	// frames, 1 MiB). A client over either is evicted.
	QueueFrames int
	QueueBytes  int
	// TypingEvery is the least time between relayed typing events of one
	// user in one room (2s).
	TypingEvery time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Retention is what the store's pruner deletes; room_joined leaves
	// those messages out even before the pruner gets to them.
	Retention store.Retention
}

// Hub owns the rooms and their members on this node.
//
// Concurrency: rooms and clients are guarded by mu. Deliveries take mu for
// reading and only ever enqueue into client queues (never blocking); joins,
// leaves and evictions take it for writing. Lock order: Hub.mu before
// Client.mu. Store reads happen outside mu.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	broker broker.Broker
	writer *store.Writer

	mu       sync.RWMutex
	rooms    map[string]*room
	clients  map[*Client]struct{}
	closed   bool
	ended    map[string]time.Time // sessions logged out, until their tickets are surely void
	drained  chan struct{}        // closed when closed && no clients remain
	drainOne sync.Once

	// presenceMu serialises, per (room, user) stripe, a user's arrival in
	// and departure from a room on this node together with the Presence
	// call that reports it, so the cluster sees them in the order they
	// happened. Taken before mu.
	presenceMu [64]sync.Mutex

	flushOnce sync.Once
	flushers  []flusher
	flushNext atomic.Uint64
	// framesIn counts the text frames read from clients: a flusher's
	// yield during which none was read, and that took long, idled (see
	// nextYieldEvery).
	framesIn atomic.Uint64
}

type room struct {
	name    string
	members map[*Client]struct{}
	users   map[string]int       // connections per user
	typing  map[string]time.Time // last relayed typing per user
	recent  recent               // the newest messages, for room_joined
	sorted  []string             // users' names, sorted; nil when users changed
	// sortedJSON is sorted as JSON, made by the first join that needs it;
	// guarded by jsonMu as well as Hub.mu (joins set it holding Hub.mu
	// only for reading).
	jsonMu     sync.Mutex
	sortedJSON []byte
}

// membersJSON returns members as a JSON array, from the room's cache when
// members is the room's current sorted list. Hub.mu is held for reading.
func (r *room) membersJSON(members []string) []byte {
	if len(members) == 0 || len(r.sorted) != len(members) || &r.sorted[0] != &members[0] {
		return mustJSON(orEmptyList(members))
	}
	r.jsonMu.Lock()
	defer r.jsonMu.Unlock()
	if r.sortedJSON == nil {
		r.sortedJSON = mustJSON(members)
	}
	return r.sortedJSON
}

func orEmptyList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// memberList returns the room's users, sorted. The slice is shared by
// every caller until the users change: nobody may modify it. Hub.mu is
// held for writing.
func (r *room) memberList() []string {
	if r.sorted == nil {
		r.jsonMu.Lock()
		r.sortedJSON = nil
		r.jsonMu.Unlock()
		r.sorted = make([]string, 0, len(r.users))
		for u := range r.users {
			r.sorted = append(r.sorted, u)
		}
		sort.Strings(r.sorted)
	}
	return r.sorted
}

// ErrClosed is returned by Connect once Shutdown has begun.
var ErrClosed = errors.New("chat: hub is shutting down")

// ErrSessionEnded is returned by Connect for a session that has logged out
// (its ticket was redeemed just before the logout voided it).
var ErrSessionEnded = errors.New("chat: the session has ended")

// endedMemory is how long a logged-out session is remembered: longer than
// any ticket lives (the ticket TTL is at most an hour).
const endedMemory = 2 * time.Hour

// NewHub starts a hub and its message writer.
func NewHub(cfg Config) (*Hub, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.MsgRate <= 0 {
		cfg.MsgRate = 10
	}
	if cfg.MsgBurst <= 0 {
		cfg.MsgBurst = 20
	}
	if cfg.QueueFrames <= 0 {
		cfg.QueueFrames = 1024
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 1 << 20
	}
	if cfg.TypingEvery <= 0 {
		cfg.TypingEvery = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Hub{
		cfg:     cfg,
		log:     cfg.Logger,
		rooms:   make(map[string]*room),
		clients: make(map[*Client]struct{}),
		ended:   make(map[string]time.Time),
		drained: make(chan struct{}),
	}
	newBroker := cfg.NewBroker
	if newBroker == nil {
		newBroker = func(hd broker.Handler, _ broker.Source) (broker.Broker, error) { return broker.NewLocal(hd), nil }
	}
	b, err := newBroker(h.deliver, storeSource{cfg.Store})
	if err != nil {
		return nil, err
	}
	h.broker = b
	h.writer = store.NewWriter(cfg.Store, h.publishMessages, store.WriterOptions{})
	return h, nil
}

// publishMessages runs in the writer's goroutine after each commit, with the
// stored messages in id order: it encodes each once and hands it to the
// broker, so every node delivers a room's messages in id order.
func (h *Hub) publishMessages(msgs []store.Message) {
	for _, m := range msgs {
		e := broker.Event{ID: m.ID, Prev: m.Prev, Payload: EncodeNewMessage(m)}
		if err := h.broker.Publish(context.Background(), m.Room, e); err != nil {
			h.log.Error("publish failed", "room", m.Room, "id", m.ID, "err", err)
		}
	}
}

// deliver is the broker's handler: it queues the event for every local
// member of room, except the connections of the user it names in Except.
func (h *Hub) deliver(roomName string, e broker.Event) {
	var slow []*Client
	n := 0
	id, payload, skip := e.ID, e.Payload, e.Except
	h.mu.RLock()
	if r := h.rooms[roomName]; r != nil {
		r.recent.delivered(id, e.Prev, payload)
		for c := range r.members {
			if skip != "" && c.user == skip {
				continue
			}
			if c.enqueue(id, payload) {
				n++
			} else {
				slow = append(slow, c)
			}
		}
	}
	h.mu.RUnlock()
	h.cfg.Metrics.Broadcasts.Inc()
	h.cfg.Metrics.Delivered.Add(float64(n))
	for _, c := range slow {
		// The deliverer may hold a presence lock or a broker's room lock
		// that leaving takes too: leave from a goroutine of its own.
		h.closeSlow(c)
		go h.leave(c)
	}
}

// evict drops a client whose queue is full: its connection is closed with
// 1013, without waiting for it, and it leaves its room at once.
func (h *Hub) evict(c *Client) {
	h.closeSlow(c)
	h.leave(c)
}

func (h *Hub) closeSlow(c *Client) {
	h.cfg.Metrics.SlowDropped.Inc()
	h.log.Warn("slow client dropped", "user", c.user)
	c.Close(CloseTryAgainLater, "send queue full", true)
}

// AnnounceLeft sends user_left to room's members on every node: the
// cluster calls it for the users of a node that stopped.
func (h *Hub) AnnounceLeft(room, user string) {
	h.publishPresence(room, TypeUserLeft, user)
}

// Connect registers an authenticated connection and puts it in the room
// `general`, queueing room_joined as its first event.
func (h *Hub) Connect(ctx context.Context, user, session string) (*Client, error) {
	return h.ConnectDirect(ctx, user, session, nil)
}

// ConnectDirect is Connect for a transport that can write without
// blocking. direct writes frames to the connection, all in one
// non-blocking write: it reports whether it wrote anything and returns the
// part it could not write (a copy), which the writer sends first. With it,
// frames for an idle connection are written by the hub's flusher (see
// Client.push) instead of a writer goroutine, from room_joined on; only
// what does not fit in the socket's buffer starts a writer.
func (h *Hub) ConnectDirect(ctx context.Context, user, session string, direct func(frames [][]byte) (rest []byte, ok bool)) (*Client, error) {
	c := &Client{
		hub:     h,
		user:    user,
		session: session,
		limiter: rate.NewLimiter(rate.Limit(h.cfg.MsgRate), h.cfg.MsgBurst),
		wake:    make(chan struct{}, 1),
	}
	if direct != nil {
		c.direct, c.fl = direct, h.flusherFor()
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := h.ended[session]; ok {
		h.mu.Unlock()
		return nil, ErrSessionEnded
	}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.cfg.Metrics.Connections.Inc()
	defer func() {
		if p := recover(); p != nil {
			// The caller never gets c: take it out again, or Shutdown
			// would wait for it.
			h.Disconnect(c)
			panic(p)
		}
	}()
	h.enterRoom(ctx, c, DefaultRoom, 0, nil)
	return c, nil
}

// DefaultRoom is where every connection starts.
const DefaultRoom = "general"

// Disconnect removes a client for good. It is idempotent.
func (h *Hub) Disconnect(c *Client) {
	h.leave(c)
	h.mu.Lock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		h.cfg.Metrics.Connections.Dec()
	}
	if h.closed && len(h.clients) == 0 {
		h.drainOne.Do(func() { close(h.drained) })
	}
	h.mu.Unlock()
}

// join adds c to roomName and returns the members (each user once, sorted).
// When c is its user's first connection there, the others hear user_joined.
func (h *Hub) join(ctx context.Context, c *Client, roomName string) []string {
	lk := h.presenceLock(roomName, c.user)
	lk.Lock()
	defer lk.Unlock()
	h.mu.Lock()
	if c.isClosing() {
		h.mu.Unlock()
		return nil
	}
	c.joined = roomName
	r := h.rooms[roomName]
	if r == nil {
		r = &room{name: roomName, members: make(map[*Client]struct{}), users: make(map[string]int), typing: make(map[string]time.Time)}
		h.rooms[roomName] = r
		h.cfg.Metrics.Rooms.Inc()
		if err := h.broker.Subscribe(roomName); err != nil {
			h.log.Error("subscribe failed", "room", roomName, "err", err)
		}
	}
	c.beginJoin()
	r.members[c] = struct{}{}
	r.users[c.user]++
	first := r.users[c.user] == 1
	if first {
		r.sorted = nil
	}
	members := r.memberList()
	h.mu.Unlock()
	if p := h.cfg.Presence; p != nil {
		if first {
			var err error
			if first, err = p.Join(ctx, roomName, c.user); err != nil {
				first = true // tell this node's members at least
				h.log.Error("presence: join failed", "room", roomName, "err", err)
			}
		}
		members = h.clusterMembers(ctx, roomName, members)
		sort.Strings(members)
	}
	if first {
		h.publishPresence(roomName, TypeUserJoined, c.user)
	}
	return members
}

// clusterMembers returns the room's members across the cluster, or local
// (this node's) when Presence cannot say.
func (h *Hub) clusterMembers(ctx context.Context, roomName string, local []string) []string {
	all, err := h.cfg.Presence.Members(ctx, roomName)
	if err != nil {
		h.log.Error("presence: members failed", "room", roomName, "err", err)
		return slices.Clone(local) // the caller sorts it; local is shared
	}
	for _, u := range local { // a failed earlier Join may have left one out
		if !slices.Contains(all, u) {
			all = append(all, u)
		}
	}
	return all
}

// presenceLock returns the stripe of presenceMu for user in roomName.
func (h *Hub) presenceLock(roomName, user string) *sync.Mutex {
	var x uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(roomName); i++ {
		x = (x ^ uint32(roomName[i])) * 16777619
	}
	x *= 16777619 // a zero byte between the two names
	for i := 0; i < len(user); i++ {
		x = (x ^ uint32(user[i])) * 16777619
	}
	return &h.presenceMu[x%uint32(len(h.presenceMu))]
}

// rejoin restarts c's join of the room it is in (change_room to the same
// room): no leave or join events, just a fresh member list.
func (h *Hub) rejoin(ctx context.Context, c *Client, roomName string) []string {
	h.mu.Lock()
	r := h.rooms[roomName]
	if r == nil || c.joined != roomName || c.isClosing() {
		h.mu.Unlock()
		return nil
	}
	c.beginJoin()
	members := r.memberList()
	h.mu.Unlock()
	if h.cfg.Presence != nil {
		members = h.clusterMembers(ctx, roomName, members)
		sort.Strings(members)
	}
	return members
}

// leave takes c out of its room, if any. When c was its user's last
// connection there, the others hear user_left; an empty room is dropped.
func (h *Hub) leave(c *Client) {
	h.mu.Lock()
	roomName, user := c.joined, c.user
	h.mu.Unlock()
	if roomName == "" {
		return
	}
	lk := h.presenceLock(roomName, user)
	lk.Lock()
	defer lk.Unlock()
	h.mu.Lock()
	if c.joined != roomName { // another leave got there first
		h.mu.Unlock()
		return
	}
	c.joined = ""
	r := h.rooms[roomName]
	if r == nil {
		h.mu.Unlock()
		return
	}
	if _, ok := r.members[c]; !ok {
		h.mu.Unlock()
		return
	}
	delete(r.members, c)
	r.users[c.user]--
	last := r.users[c.user] == 0
	if last {
		delete(r.users, c.user)
		delete(r.typing, c.user)
		r.sorted = nil
	}
	if len(r.members) == 0 {
		delete(h.rooms, roomName)
		h.cfg.Metrics.Rooms.Dec()
		if err := h.broker.Unsubscribe(roomName); err != nil {
			h.log.Error("unsubscribe failed", "room", roomName, "err", err)
		}
	}
	h.mu.Unlock()
	if last && h.cfg.Presence != nil {
		ctx, cancel := context.WithTimeout(context.Background(), presenceTimeout)
		var err error
		if last, err = h.cfg.Presence.Leave(ctx, roomName, c.user); err != nil {
			last = true
			h.log.Error("presence: leave failed", "room", roomName, "err", err)
		}
		cancel()
	}
	if last {
		h.publishPresence(roomName, TypeUserLeft, c.user)
	}
}

// presenceTimeout bounds a Presence call made outside any request.
const presenceTimeout = 5 * time.Second

func (h *Hub) publishPresence(roomName, typ, user string) {
	h.publish(roomName, broker.Event{Except: user, Payload: encode(typ, roomUser{Room: roomName, User: user})})
}

// publish hands a non-message event to the broker, for this node's members
// and every other node's.
func (h *Hub) publish(roomName string, e broker.Event) {
	if err := h.broker.Publish(context.Background(), roomName, e); err != nil {
		h.log.Error("publish failed", "room", roomName, "err", err)
	}
}

// typing relays a typing event from c, at most once per TypingEvery per user
// and room; extra ones are dropped silently.
func (h *Hub) typing(ctx context.Context, c *Client) {
	roomName := c.room
	now := h.cfg.Now()
	h.mu.Lock()
	r := h.rooms[roomName]
	if r == nil || now.Sub(r.typing[c.user]) < h.cfg.TypingEvery {
		h.mu.Unlock()
		return
	}
	r.typing[c.user] = now
	h.mu.Unlock()
	if t, ok := h.cfg.Presence.(TypingThrottle); ok && !t.AllowTyping(ctx, roomName, c.user, h.cfg.TypingEvery) {
		return // relayed from another node of the cluster just now
	}
	h.publish(roomName, broker.Event{Except: c.user, Payload: encode(TypeTyping, roomUser{Room: roomName, User: c.user})})
}

// RoomInfo describes a room for GET /rooms.
type RoomInfo struct {
	Name    string `json:"name"`
	Members int    `json:"members"` // users, not connections
}

// Rooms lists the rooms that have members now, busiest first: in the whole
// cluster when there is one (this node's alone if it cannot be reached).
func (h *Hub) Rooms(ctx context.Context) []RoomInfo {
	if p := h.cfg.Presence; p != nil {
		rooms, err := p.Rooms(ctx)
		if err == nil {
			sortRooms(rooms)
			return rooms
		}
		h.log.Error("presence: rooms failed", "err", err)
	}
	h.mu.RLock()
	out := make([]RoomInfo, 0, len(h.rooms))
	for _, r := range h.rooms {
		out = append(out, RoomInfo{Name: r.name, Members: len(r.users)})
	}
	h.mu.RUnlock()
	sortRooms(out)
	return out
}

// sortRooms puts the busiest first, then by name.
func sortRooms(out []RoomInfo) {
	slices.SortFunc(out, func(a, b RoomInfo) int {
		if a.Members != b.Members {
			return b.Members - a.Members
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
}

// CloseSession closes, with 1008, every connection opened with a ticket of
// the given session (after logout), on this node and, through EndSession,
// on every other node of the cluster.
func (h *Hub) CloseSession(ctx context.Context, session string) {
	h.CloseLocalSession(session)
	if h.cfg.EndSession != nil {
		if err := h.cfg.EndSession(ctx, session); err != nil {
			h.log.Error("telling the cluster about a logout failed", "err", err)
		}
	}
}

// CloseLocalSession is CloseSession for this node's connections only; the
// cluster calls it when another node reports a logout.
func (h *Hub) CloseLocalSession(session string) {
	now := h.cfg.Now()
	h.mu.Lock()
	for s, at := range h.ended {
		if now.Sub(at) > endedMemory {
			delete(h.ended, s)
		}
	}
	h.ended[session] = now
	var hit []*Client
	for c := range h.clients {
		if c.session == session {
			hit = append(hit, c)
		}
	}
	h.mu.Unlock()
	for _, c := range hit {
		c.Close(ClosePolicy, "logged out", false)
	}
}

// Shutdown refuses new connections, asks every client to close with 1001,
// waits until their handlers have disconnected them (or ctx ends), then
// stops the writer, committing what is queued, and the broker.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	if len(h.clients) == 0 {
		h.drainOne.Do(func() { close(h.drained) })
	}
	h.mu.Unlock()
	for _, c := range all {
		c.Close(CloseGoingAway, "server shutting down", false)
	}
	var err error
	select {
	case <-h.drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.writer.Close()
	if berr := h.broker.Close(); berr != nil && err == nil {
		err = berr
	}
	return err
}
