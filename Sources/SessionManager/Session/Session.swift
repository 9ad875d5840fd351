import Foundation
import Synchronization

/// An HTTP session, shared by every request for its id that is in flight on this node.
///
/// All accessors are thread-safe. ``update(_:_:)`` is an atomic read-modify-write: concurrent
/// requests on this node that increment a counter through it never lose an increment (the manager
/// hands the same instance to all of them and serialises their writes to the store).
public final class Session: Sendable {
    struct State: Sendable {
        var id: SessionID
        var lastAccessedTime: Date
        var maxInactiveInterval: Int
        var attributes: [String: SessionValue]
        var isNew: Bool
        var isValid = true
        /// Bumped by every mutation; the manager persists a generation at most once.
        var generation: UInt64 = 0
        /// Ids this session had before ``Session/changeSessionId()`` (their keys must be deleted).
        var retiredIDs: [SessionID] = []
        /// The logged-in user (see ``Session/logIn(principal:)``).
        var principal: String?
        /// When it logged in.
        var loginTime: Date?
        /// When this node last made sure the logged-in session was not invalidated elsewhere
        /// (loaded from the store, logged in here, or its tombstone looked for: see
        /// ``ManagerConfiguration/residentRevalidationInterval``); `nil` while anonymous, so that
        /// making or loading an anonymous session reads no clock.
        var checkedAt: ContinuousClock.Instant?
    }

    /// When the session was created.
    public let creationTime: Date
    /// When the session is gone whatever its activity (``ManagerConfiguration/maxSessionLifetime``).
    public let lifetimeEnd: Date?
    private let state: Mutex<State>
    /// Whether ``principal`` is set, readable without the lock: every request's end and every
    /// request for a resident session asks, and most sessions are anonymous.
    private let hasPrincipal: Atomic<Bool>
    private let idGenerator: SessionIDGenerator
    /// The context's logged-in sessions (the principal index), `nil` for a session no manager made.
    let principals: SessionPrincipals?

    init(snapshot: SessionSnapshot, id: SessionID, isNew: Bool, idGenerator: SessionIDGenerator, maxLifetime: Int? = nil, principals: SessionPrincipals? = nil) {
        self.principals = principals
        self.creationTime = snapshot.creationTime
        self.lifetimeEnd = maxLifetime.map { snapshot.creationTime.addingTimeInterval(Double($0)) }
        self.idGenerator = idGenerator
        let stored = ReservedAttributes.split(snapshot.attributes)
        self.hasPrincipal = Atomic(stored.principal != nil)
        self.state = Mutex(
            State(
                id: id,
                lastAccessedTime: snapshot.lastAccessedTime,
                maxInactiveInterval: snapshot.maxInactiveInterval,
                attributes: stored.attributes,
                isNew: isNew,
                principal: stored.principal,
                loginTime: stored.loginTime,
                checkedAt: stored.principal == nil ? nil : .now
            )
        )
    }

    /// The current id (changes after ``changeSessionId()``).
    public var id: SessionID { state.withLock { $0.id } }

    /// `true` for a session created by this request (the response will carry its cookie).
    public var isNew: Bool { state.withLock { $0.isNew } }

    /// `false` after ``invalidate()``.
    public var isValid: Bool { state.withLock { $0.isValid } }

    /// When a request last used the session: for a resident session (memory store), when the
    /// last request using it ended; otherwise as of the last write to the store.
    public var lastAccessedTime: Date { state.withLock { $0.lastAccessedTime } }

    /// Idle time in seconds after which the session expires. Setting it marks the session changed.
    public var maxInactiveInterval: Int {
        get { state.withLock { $0.maxInactiveInterval } }
        set {
            state.withLock {
                $0.maxInactiveInterval = max(1, newValue)
                $0.generation &+= 1
            }
        }
    }

    /// The names of all attributes.
    public var attributeNames: [String] { state.withLock { Array($0.attributes.keys) } }

    /// The value of an attribute, `nil` if absent.
    public subscript(key: String) -> SessionValue? {
        get { state.withLock { $0.attributes[key] } }
        set { update(key) { $0 = newValue } }
    }

    /// The value of an attribute converted to `T`; `nil` if absent or of another shape.
    @inlinable
    public func get<T: SessionValueConvertible>(_ key: String, as type: T.Type = T.self) -> T? {
        self[key].flatMap { T(sessionValue: $0) }
    }

    /// Sets an attribute (`nil` removes it).
    public func set<T: SessionValueConvertible>(_ key: String, _ value: T?) {
        let newValue = value?.sessionValue
        update(key) { $0 = newValue }
    }

    /// Removes an attribute.
    public func removeValue(forKey key: String) {
        update(key) { $0 = nil }
    }

    /// Atomically reads and rewrites one attribute: `body` runs under the session's lock, so no
    /// other request on this node can interleave between the read and the write.
    @discardableResult
    public func update<R>(_ key: String, _ body: (inout SessionValue?) throws -> R) rethrows -> R {
        try state.withLock { state -> R in
            var value = state.attributes[key]
            let result = try body(&value)
            state.attributes[key] = value
            state.generation &+= 1
            return result
        }
    }

    /// Typed atomic read-modify-write; the attribute starts at `initial` when absent or of another shape.
    ///
    /// ```swift
    /// let count = session.update("count", default: 0) { (n: inout Int) in n += 1; return n }
    /// ```
    /// Inlinable so the caller's module specialises it for `T` (it uses only public API).
    @inlinable
    @discardableResult
    public func update<T: SessionValueConvertible, R>(
        _ key: String,
        default initial: @autoclosure () -> T,
        _ body: (inout T) throws -> R
    ) rethrows -> R {
        try update(key) { (value: inout SessionValue?) -> R in
            var typed = value.flatMap { T(sessionValue: $0) } ?? initial()
            let result = try body(&typed)
            value = typed.sessionValue
            return result
        }
    }

    /// Ends the session: it is deleted from the store at the end of the request and the response
    /// expires the cookie. Its principal goes with it.
    public func invalidate() {
        _ = invalidateIfValid()
    }

    /// Whether a user is logged in (``principal`` is set), without taking the session's lock.
    var isLoggedIn: Bool { hasPrincipal.load(ordering: .relaxed) }

    /// The logged-in user's id (``logIn(principal:)``), `nil` when nobody is logged in.
    public var principal: String? { state.withLock { $0.principal } }

    /// When the session logged in, `nil` when nobody is logged in.
    public var loginTime: Date? { state.withLock { $0.loginTime } }

    /// Logs `principal` (the user's id: any string) in, and gives the session a new id in the same
    /// step, so that an id known before the login (session fixation) does not carry it.
    ///
    /// The session joins the principal's index in the store (``SessionManager/sessions(of:)``,
    /// ``SessionManager/invalidateSessions(of:except:)``), within ``ManagerConfiguration/maxSessionsPerPrincipal``.
    /// - Returns: The new id.
    /// - Throws: ``SessionManagerError/Code/tooManySessionsForPrincipal`` when the limit refuses the
    ///   login (``PrincipalLimitPolicy/reject``), ``SessionManagerError/Code/storeUnavailable`` when
    ///   the index cannot be reached; the session is unchanged then.
    @discardableResult
    public func logIn(principal: String) async throws -> SessionID {
        guard let principals else { return loggedIn(principal, at: Date(), as: nextID()).id }
        return try await principals.logIn(self, principal: principal)
    }

    /// Logs the user out; the session goes on, anonymous, and leaves the principal's index.
    public func logOut() {
        let left = state.withLock { state -> (String, SessionID)? in
            guard let principal = state.principal else { return nil }
            state.principal = nil
            hasPrincipal.store(false, ordering: .relaxed)
            state.loginTime = nil
            state.generation &+= 1
            return (principal, state.id)
        }
        if let left { principals?.left(left.0, left.1) }
    }

    /// Gives the session a new random id, keeping its attributes (call it on login against
    /// session fixation). The response carries the new cookie; the old id stops working. A
    /// logged-in session's index entry moves to the new id.
    @discardableResult
    public func changeSessionId() -> SessionID {
        let (old, new, principal) = state.withLock { state in
            let old = state.id
            let new = Self.changeID(&state, to: idGenerator.next(after: old))
            return (old, new, state.principal)
        }
        if let principal { principals?.renamed(principal, from: old, to: new) }
        return new
    }

    /// A new id for this session: a new random part, the same node and this node's route.
    func nextID() -> SessionID {
        idGenerator.next(after: id)
    }

    /// Sets the login (the index already has it) and the new id; the old id is retired.
    func loggedIn(_ principal: String, at time: Date, as newID: SessionID) -> (id: SessionID, previous: String?, oldID: SessionID) {
        state.withLock { state in
            let previous = state.principal
            let oldID = state.id
            state.principal = principal
            hasPrincipal.store(true, ordering: .relaxed)
            state.loginTime = time
            state.checkedAt = .now
            return (Self.changeID(&state, to: newID), previous, oldID)
        }
    }

    /// Retires the current id for `newID`.
    private static func changeID(_ state: inout State, to newID: SessionID) -> SessionID {
        state.retiredIDs.append(state.id)
        state.id = newID
        state.generation &+= 1
        return newID
    }

    // MARK: manager access

    /// Moves the session to another store node: same random part and route, the node's id (a
    /// relocation after a node failure, or the first node of a session created while every node
    /// was down). Counts as a change, so the request ends with a write under the new id.
    func relocate(toNode node: String) {
        state.withLock { state in
            state.id = state.id.withNodeID(node)
            state.generation &+= 1
        }
    }

    /// Takes the session over from another app node (sticky mode): same random part and store
    /// node, this node's route. Counts as a change, so the request ends with a write under the new
    /// id (and the delete of the old key).
    func takeOver(route: String) {
        state.withLock { state in
            state.id = state.id.withJvmRoute(route)
            state.generation &+= 1
        }
    }

    /// The session as it is now, for a listing (``SessionManager/sessions(of:)``): nothing changes.
    func peek() -> SessionSnapshot {
        state.withLock { state in
            SessionSnapshot(
                id: state.id.description,
                creationTime: creationTime,
                lastAccessedTime: state.lastAccessedTime,
                maxInactiveInterval: state.maxInactiveInterval,
                attributes: ReservedAttributes.merge(state.attributes, principal: state.principal, loginTime: state.loginTime)
            )
        }
    }

    /// ``invalidate()``, only if the session is still valid: `true` when this call invalidated
    /// it (a session found invalidated elsewhere by two paths at once is counted once).
    func invalidateIfValid() -> Bool {
        state.withLock {
            guard $0.isValid else { return false }
            $0.isValid = false
            $0.principal = nil
            hasPrincipal.store(false, ordering: .relaxed)
            $0.loginTime = nil
            $0.generation &+= 1
            return true
        }
    }

    func withState<R>(_ body: (inout State) -> R) -> R {
        state.withLock { body(&$0) }
    }

    /// What releasing the session needs to know of it, read under one lock: the session is shared
    /// between the event-loop threads, and every lock taken is a cache line they contend for.
    struct Status: Sendable {
        let id: SessionID
        let isValid: Bool
        let generation: UInt64
        let maxInactiveInterval: Int
        /// How long the store (and this node's memory) keeps it from now: see ``storeTTL(maxInactiveInterval:now:)``.
        let ttl: Duration
    }

    /// The session's ``Status`` now.
    func status() -> Status {
        // The clock is read only for a session with a lifetime: a status is read by every request.
        let now = lifetimeEnd == nil ? Date.distantPast : Date()
        return state.withLock {
            Status(
                id: $0.id,
                isValid: $0.isValid,
                generation: $0.generation,
                maxInactiveInterval: $0.maxInactiveInterval,
                ttl: storeTTL(maxInactiveInterval: $0.maxInactiveInterval, now: now)
            )
        }
    }

    /// How long a copy written `now` lives: the idle timeout, or the remaining lifetime when that
    /// is shorter (a millisecond at least: a store refuses a time to live of zero, and a copy past
    /// its lifetime is not used anyway).
    func storeTTL(maxInactiveInterval: Int, now: Date) -> Duration {
        let idle = Duration.seconds(maxInactiveInterval)
        guard let lifetimeEnd else { return idle }
        let left = lifetimeEnd.timeIntervalSince(now)
        return min(idle, .milliseconds(max(1, Int64((left * 1000).rounded(.down)))))
    }

    /// Its last request released it and it stays in memory (see ``SessionTable``): it is no
    /// longer new to the requests that find it, and its last access time is now.
    func markResident() {
        let ended = Date()
        state.withLock {
            $0.isNew = false
            $0.lastAccessedTime = ended
        }
    }

    /// The session as a request wants it stored, read under one lock: what to write, the
    /// generation it reflects, the id, and whether the session is still valid.
    struct Capture: Sendable {
        let snapshot: SessionSnapshot
        let generation: UInt64
        let id: SessionID
        let isValid: Bool
        /// The copy's time to live (``storeTTL(maxInactiveInterval:now:)``).
        let ttl: Duration
        /// Whether a user is logged in (its copy must not be written back once invalidated
        /// elsewhere: see ``SessionStorage/write(_:bytes:ttl:previousID:unlocking:loggedIn:)``).
        let loggedIn: Bool
    }

    /// The session now, for ``SessionLifecycle/persistRequested(_:target:now:waits:)``; its last
    /// access time becomes `now` (a request that stores the session used it now).
    func capture(now: Date) -> Capture {
        state.withLock { state in
            state.lastAccessedTime = now
            let snapshot = SessionSnapshot(
                id: state.id.description,
                creationTime: creationTime,
                lastAccessedTime: now,
                maxInactiveInterval: state.maxInactiveInterval,
                attributes: ReservedAttributes.merge(state.attributes, principal: state.principal, loginTime: state.loginTime)
            )
            return Capture(
                snapshot: snapshot,
                generation: state.generation,
                id: state.id,
                isValid: state.isValid,
                ttl: storeTTL(maxInactiveInterval: state.maxInactiveInterval, now: now),
                loggedIn: state.principal != nil
            )
        }
    }
}

// MARK: - Codable helpers

extension Session {
    /// The attribute decoded as `T` (any `Decodable`); `nil` when absent.
    /// - Throws: `DecodingError` when the stored value has another shape.
    public func get<T: Decodable>(_ key: String, decoding type: T.Type) throws -> T? {
        guard let value = self[key] else { return nil }
        return try SessionValueDecoder().decode(type, from: value)
    }

    /// Stores any `Encodable` value as a ``SessionValue`` tree (see ``SessionValueEncoder``).
    public func set<T: Encodable>(_ key: String, encoding value: T) throws {
        self[key] = try SessionValueEncoder().encode(value)
    }
}
