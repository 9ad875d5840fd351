/// Sticky mode: whether this process may use its configured `jvmRoute`, decided from a lease in
/// the store. A pure state machine: the manager's background work performs its steps against the
/// store and feeds back what they found; no I/O, no clock, no lock inside.
///
/// Why: two live processes with one route (a copied configuration file) would both serve the
/// copies of the route's sessions they keep in memory, and each would silently lose the other's
/// changes. The process that finds the route leased by another live process gives it up: it
/// issues ids with a route of its own (see ``AppNodeRoute``), so that every request for a session
/// of the shared route is a takeover there, read from the store, as with distinct routes. It takes
/// the route back once the lease is free again (the other process stopped, or died and its lease
/// expired).
///
/// What is never a duplicate: a store that does not answer (the lease cannot be refreshed; the
/// state stays as it was and no request fails for it), and this process's own lease left behind
/// by a crash on this host (its holder's pid is gone: the lease is broken at once).
struct RouteLease: Sendable, Equatable {
    /// Who holds the lease: the value of the lease key.
    struct Holder: Sendable, Equatable, CustomStringConvertible {
        let host: String
        let pid: Int32
        /// Random per process start: tells a restarted process from its previous life.
        let instance: String

        /// The value stored in the lease key: `host pid instance`.
        var token: [UInt8] { Array("\(host) \(pid) \(instance)".utf8) }

        /// Reads a lease value; `nil` when it is not one (written by something else).
        init?(token: [UInt8]) {
            let words = String(decoding: token, as: UTF8.self).split(separator: " ")
            guard words.count == 3, let pid = Int32(words[1]) else { return nil }
            self.init(host: String(words[0]), pid: pid, instance: String(words[2]))
        }

        init(host: String, pid: Int32, instance: String) {
            self.host = host
            self.pid = pid
            self.instance = instance
        }

        var description: String { "\(host) pid \(pid)" }
    }

    enum State: Sendable, Equatable {
        /// Not asked yet (the process just started): the configured route is used.
        case unclaimed
        /// This process holds the lease: the configured route is used.
        case held(StoreLock)
        /// Another live process holds it (`nil`: its value could not be read): this process uses
        /// its own route.
        case yielded(to: Holder?)
        /// Given back at stop: no round takes it again.
        case released
    }

    /// What the background work does next.
    enum Step: Sendable, Equatable {
        /// Take the lease if it is free.
        case acquire
        /// Refresh the lease this process holds (compare-and-extend).
        case extend(StoreLock)
    }

    /// What a step found.
    enum Outcome: Sendable, Equatable {
        /// Taken, or extended: the lock as it now is.
        case held(StoreLock)
        /// Someone else holds it.
        case busy
        /// The extension found the lease no longer ours (expired while the store was away, or
        /// the store restarted empty).
        case lost
        /// The store did not answer: nothing is known.
        case unreachable
        /// The holder's value, read after ``busy``; `goneFromThisHost`: it names this host and a
        /// process that no longer runs (this process's previous life, before a crash).
        case holder(Holder?, goneFromThisHost: Bool)
    }

    /// What the executor does with an outcome.
    enum Action: Sendable, Equatable {
        case none
        /// Read the lease's value, to name the holder (then ``Outcome/holder(_:goneFromThisHost:)``).
        case identifyHolder
        /// Try ``Step/acquire`` again now (the lease was lost, so it may be free).
        case acquireAgain
        /// Delete the stale lease of a process that is gone, then acquire.
        case breakStaleLease(Holder)
        /// Log once: the route is this process's (`reclaimed`: after it was given up).
        case announceHeld(reclaimed: Bool)
        /// Log once, as an error: another process holds the route; this one uses its own.
        case announceDuplicate(Holder?)
        /// Unlock a lease taken by a round that ended after ``release()``.
        case giveBack(StoreLock)
    }

    private(set) var state: State = .unclaimed

    /// Whether the configured route may be used now.
    var usesConfiguredRoute: Bool {
        if case .yielded = state { return false }
        return true
    }

    /// The step of the next tick; `nil` once released.
    var nextStep: Step? {
        switch state {
        case .held(let lock): return .extend(lock)
        case .released: return nil
        case .unclaimed, .yielded: return .acquire
        }
    }

    /// Stops the lease (the process ends); returns the lock to give back, if this process holds it.
    mutating func release() -> StoreLock? {
        defer { state = .released }
        if case .held(let lock) = state { return lock }
        return nil
    }

    /// Feeds back what a step found.
    mutating func received(_ outcome: Outcome) -> Action {
        switch (state, outcome) {
        case (.released, .held(let lock)):
            return .giveBack(lock)
        case (.released, _), (_, .unreachable):
            // Not a duplicate: the lease is refreshed when the store answers again.
            return .none
        case (.held, .held(let lock)):
            state = .held(lock)
            return .none
        case (.unclaimed, .held(let lock)):
            state = .held(lock)
            return .announceHeld(reclaimed: false)
        case (.yielded, .held(let lock)):
            state = .held(lock)
            return .announceHeld(reclaimed: true)
        case (.held, .lost):
            // No longer ours in the store: free, or taken by another process meanwhile.
            state = .unclaimed
            return .acquireAgain
        case (_, .lost):
            return .none
        case (.unclaimed, .busy), (.held, .busy):
            return .identifyHolder
        case (.yielded, .busy):
            return .none
        case (_, .holder(let holder?, goneFromThisHost: true)):
            return .breakStaleLease(holder)
        case (.yielded, .holder):
            return .none
        case (_, .holder(let holder, goneFromThisHost: false)):
            state = .yielded(to: holder)
            return .announceDuplicate(holder)
        case (_, .holder(nil, goneFromThisHost: true)):
            return .none
        }
    }
}
