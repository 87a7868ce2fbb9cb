// Package redisstore shares one token between any number of tokensmith
// processes through Redis, so that a fleet makes one grant per token
// lifetime instead of one per process.
//
// A Store implements the lease / adopt / commit protocol of docs/protocol.md
// (hostshim.Store, plus hostshim.Notifier for early wake-ups); the core makes
// every decision and the Store only performs the three effects:
//
//   - lease: SET lease owner NX PX ttl, and the stored token read in the same
//     script. A lease the Store already holds is extended (compare-and-expire)
//     rather than refused to its own holder;
//   - commit: one Lua script stores the token only if the caller still owns
//     the lease, or nobody does and the stored revision is the one the caller
//     loaded; it deletes the lease and publishes a notice. A holder that
//     paused past its lease cannot overwrite a newer token (fencing at the
//     store);
//   - release: compare-and-delete, and a notice.
//
// Followers are subscribed to the notice channel before they try the lease
// (the subscription lives as long as the Store), so a commit between a
// failed lease and the follower's wait still wakes it; pub/sub is
// at-most-once, so a wake-up only ends the core's jittered poll early and the
// follower always re-reads.
//
// Keys live in one Redis Cluster hash slot, named by a hash of the provider,
// base URL and the account's non-secret identity (never a password, key or
// licence): tokensmith:{<hash>}:token, :lease, :notice. Only the wire-format
// token is stored, without its attach block (the core derives it from the
// config again; DQE's carries the licence).
//
// When Redis is unreachable every method returns an error promptly; the core
// turns it into its documented behaviour (keep serving the token held, renew
// alone at most once per hold-off window). The Store logs the outage once
// and the recovery once.
//
// One Store per hostshim.Client: it holds at most one lease at a time.
package redisstore
