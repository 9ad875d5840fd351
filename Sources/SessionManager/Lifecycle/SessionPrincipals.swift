import Foundation
import Logging
import Synchronization

/// A context's logged-in sessions across the cluster: logins into a principal's index (within
/// ``ManagerConfiguration/maxSessionsPerPrincipal``), the index kept in step with logouts, id
/// changes and requests, and invalidation by principal on every node.
///
/// **Invalidating a session elsewhere** (a log out everywhere, an eviction by the limit) takes
/// four steps, in this order: its tombstone on every store node (``SessionKeys/tombstone(_:)``),
/// the delete of its copies, a notice on the context's channel for the stores that carry them
/// (Redis), and the drop of this node's own copy. The order is what keeps a session from coming
/// back: a node that still holds it writes a logged-in session back only over an existing copy
/// (``SessionStore/replace(_:value:ttl:)``), and when the copy is gone it looks for the
/// tombstone before writing anew; a sticky node that missed the notice looks for the tombstone
/// before serving a resident copy older than ``ManagerConfiguration/residentRevalidationInterval``.
final class SessionPrincipals: Sendable {
    private let storage: SessionStorage
    private let table: SessionTable
    private let configuration: ManagerConfiguration
    private let metrics: SessionMetrics
    private let background: BackgroundWork
    private let logger: Logger
    /// When this node last refreshed each logged-in session's index entry, and under which id.
    private let refreshed = Mutex<[String: (id: SessionID, at: ContinuousClock.Instant)]>([:])
    /// The most sessions whose last refresh is remembered: past it, the oldest half is forgotten
    /// (their next request refreshes again, a little early).
    private static let refreshMemory = 100_000

    init(storage: SessionStorage, table: SessionTable, configuration: ManagerConfiguration, metrics: SessionMetrics, background: BackgroundWork, logger: Logger) {
        self.storage = storage
        self.table = table
        self.configuration = configuration
        self.metrics = metrics
        self.background = background
        self.logger = logger
    }

    private var keys: SessionKeys { storage.keys }

    /// How long a member of an index is counted on from now: the session's store copy's time to
    /// live and a quarter more, since requests refresh it at most once per quarter.
    private static func expiry(_ ttl: Duration, nowMs: Int64) -> Int64 {
        nowMs + Int64((ttl + ttl.quarter).nanosecondCount / 1_000_000)
    }

    // MARK: - Logging in and out

    /// ``Session/logIn(principal:)``: the new id joins the index (replacing the old one's entry),
    /// within the limit; then the session takes the principal and the new id. Sessions the limit
    /// evicts are invalidated everywhere before it returns.
    func logIn(_ session: Session, principal: String) async throws -> SessionID {
        let newID = session.nextID()
        let (oldID, oldPrincipal) = session.withState { ($0.id, $0.principal) }
        let ttl = session.status().ttl
        let loginTime = Date()
        let loginMs = loginTime.unixMilliseconds
        let limit = configuration.maxSessionsPerPrincipal
        let policy = configuration.principalLimitPolicy
        let outcome = try await storage.updateIndex(keys.principalIndex(principal)) { index, nowMs in
            if oldPrincipal == principal { index.remove(oldID.random, now: nowMs) }
            return index.logIn(newID, loginTime: loginMs, expiresAt: Self.expiry(ttl, nowMs: nowMs), now: nowMs, limit: limit, policy: policy)
        }
        guard case .loggedIn(let evicted) = outcome else {
            metrics.limitRefusals.increment()
            throw SessionManagerError(
                .tooManySessionsForPrincipal,
                "the principal already has \(limit ?? 0) sessions (maxSessionsPerPrincipal) and principalLimitPolicy is reject"
            )
        }
        let login = session.loggedIn(principal, at: loginTime, as: newID)
        metrics.logins.increment()
        remember(newID)
        if let previous = login.previous, previous != principal { left(previous, login.oldID) }
        if !evicted.isEmpty {
            for _ in evicted { metrics.limitEvictions.increment() }
            logger.debug("login beyond maxSessionsPerPrincipal: oldest sessions invalidated", metadata: ["sm.session": "\(newID.logTag)", "sm.evicted": "\(evicted.count)"])
            await invalidate(evicted)
        }
        return newID
    }

    /// The session left `principal` (logged out, or logged in as another): its entry goes, in the
    /// background (pruned anyway once its session expires).
    func left(_ principal: String, _ id: SessionID) {
        forget(id)
        let key = keys.principalIndex(principal)
        background.submit { [storage] in
            _ = try? await storage.updateIndex(key) { index, now in index.remove(id.random, now: now) }
        }
    }

    /// A logged-in session's id changed (``Session/changeSessionId()``): its entry moves, at once
    /// in the background.
    func renamed(_ principal: String, from old: SessionID, to new: SessionID) {
        forget(old)
        remember(new)
        let key = keys.principalIndex(principal)
        background.submit { [storage, logger] in
            do {
                _ = try await storage.updateIndex(key) { index, now in index.rename(old.random, to: new, now: now) }
            } catch {
                logger.debug("principal index entry not moved", metadata: ["sm.session": "\(new.logTag)", "sm.error": "\(error)"])
            }
        }
    }

    /// A request of a logged-in session ends: its entry's expiry (and its id, after a relocation
    /// or a takeover) is refreshed when a quarter of the time to live passed since this node last
    /// did it, or the id changed; in the background, beside the request's own command.
    func requestEnded(_ session: Session) {
        guard session.isLoggedIn else { return }
        let (principal, id, isValid) = session.withState { ($0.principal, $0.id, $0.isValid) }
        guard isValid, let principal else { return }
        let ttl = session.status().ttl
        let now = ContinuousClock.now
        let due = refreshed.withLock { known -> Bool in
            if let last = known[id.random], last.id == id, now - last.at < ttl.quarter { return false }
            known[id.random] = (id, now)
            if known.count > Self.refreshMemory {
                for (random, _) in known.sorted(by: { $0.value.at < $1.value.at }).prefix(known.count / 2) { known[random] = nil }
            }
            return true
        }
        guard due else { return }
        let key = keys.principalIndex(principal)
        background.submit { [storage] in
            _ = try? await storage.updateIndex(key) { index, nowMs in
                index.refresh(id, expiresAt: Self.expiry(ttl, nowMs: nowMs), now: nowMs)
            }
        }
    }

    private func remember(_ id: SessionID) {
        refreshed.withLock { $0[id.random] = (id, .now) }
    }

    private func forget(_ id: SessionID) {
        _ = refreshed.withLock { $0.removeValue(forKey: id.random) }
    }

    // MARK: - A principal's sessions

    /// ``SessionManager/sessions(of:)``: the index's members, each read at once (this node's copy
    /// when it holds one, the store's otherwise, without touching it); those gone or logged in as
    /// another principal since are left out.
    func sessions(of principal: String) async throws -> [PrincipalSession] {
        let members = try await storage.readIndex(keys.principalIndex(principal)).members.values.sorted { $0.loginTime < $1.loginTime }
        let found = await withTaskGroup(of: (Int, PrincipalSession?).self) { group in
            for (position, member) in members.enumerated() {
                group.addTask { (position, await self.session(member, of: principal)) }
            }
            var found = [PrincipalSession?](repeating: nil, count: members.count)
            for await (position, session) in group { found[position] = session }
            return found
        }
        return found.compactMap { $0 }
    }

    /// One member of `principal`'s index as it is now, `nil` when it is gone or not theirs.
    private func session(_ member: PrincipalIndex.Member, of principal: String) async -> PrincipalSession? {
        guard let memberID = member.id else { return nil }
        let local = table.session(withRandom: memberID.random).flatMap { $0.isValid ? $0 : nil }
        let snapshot: SessionSnapshot?
        if let local {
            snapshot = local.peek()
        } else {
            snapshot = (try? await storage.peek(memberID)).flatMap { try? configuration.transcoder.decode($0) }
        }
        guard let snapshot else { return nil }
        let stored = ReservedAttributes.split(snapshot.attributes)
        guard stored.principal == principal else { return nil }
        return PrincipalSession(
            id: local?.id ?? SessionID(parsing: snapshot.id) ?? memberID,
            creationTime: snapshot.creationTime,
            lastAccessedTime: snapshot.lastAccessedTime,
            loginTime: stored.loginTime ?? Date(unixMilliseconds: member.loginTime),
            attributes: stored.attributes
        )
    }

    /// ``SessionManager/invalidateSessions(of:except:)``.
    func invalidateSessions(of principal: String, except kept: SessionID?) async throws -> Int {
        let key = keys.principalIndex(principal)
        let index = try await storage.readIndex(key)
        let doomed = index.members.values.compactMap(\.id).filter { $0.random != kept?.random }
        guard !doomed.isEmpty else { return 0 }
        await invalidate(doomed)
        _ = try? await storage.updateIndex(key) { index, now in
            for id in doomed { index.remove(id.random, now: now) }
        }
        return doomed.count
    }

    /// Invalidates these sessions everywhere, all at once; each in the order the type's
    /// documentation gives.
    func invalidate(_ ids: [SessionID]) async {
        await withTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { await self.invalidate(id) } }
        }
    }

    private func invalidate(_ id: SessionID) async {
        let ttl = Duration.seconds(configuration.maxInactiveInterval)
        do {
            try await storage.writeTombstone(id.random, ttl: ttl + ttl.quarter)
        } catch {
            logger.warning("session invalidated by principal without a tombstone: no store node answered", metadata: ["sm.session": "\(id.logTag)", "sm.error": "\(error)"])
        }
        await storage.deleteEverywhere(id)
        await storage.announceInvalidation(of: id.random)
        dropLocalCopy(id.random)
        metrics.invalidatedByPrincipal.increment()
        forget(id)
    }

    /// A session was invalidated elsewhere (a notice, or this node's own invalidation): this
    /// node's instance, in use or resident, is invalidated and no longer served.
    func dropLocalCopy(_ random: String) {
        guard SessionID.isRandomPart(random.utf8), let session = table.removeInvalidated(SessionRandomKey(hex: random.utf8)) else { return }
        foundInvalidated(session)
    }

    /// This node's instance of a session invalidated elsewhere (its lifecycle already knows): not
    /// served again, counted once whichever path found it (a notice, a revalidation, a write).
    func foundInvalidated(_ session: Session) {
        if session.invalidateIfValid() { metrics.foundGone.increment() }
    }

    // MARK: - Resident sessions

    /// Whether a resident logged-in session must be looked up before it is served again.
    func revalidationIsDue(_ session: Session) -> Bool {
        guard session.isLoggedIn else { return false }
        let now = ContinuousClock.now
        return session.withState { state in state.checkedAt.map { now - $0 >= configuration.residentRevalidationInterval } ?? false }
    }

    /// Looks for the session's tombstone; when it is there, the session was invalidated elsewhere
    /// and is dropped here (``dropLocalCopy(_:)``). A store that does not answer is no
    /// invalidation: the session is kept.
    func revalidate(_ session: Session) async {
        let id = session.withState { state -> SessionID in
            state.checkedAt = .now
            return state.id
        }
        if (try? await storage.isTombstoned(id)) == true { dropLocalCopy(id.random) }
    }

    /// A node that (re)subscribed to the notices may have missed some: every logged-in session
    /// it holds is looked up once.
    func revalidateAll() async {
        for session in table.loggedInSessions() { await revalidate(session) }
    }
}

/// One of a principal's sessions (``SessionManager/sessions(of:)``).
public struct PrincipalSession: Sendable {
    /// Its id as it is stored now; show ``SessionID/logTag`` rather than the id itself.
    public let id: SessionID
    /// When it was created.
    public let creationTime: Date
    /// When it was last used (as far as the store or this node knows).
    public let lastAccessedTime: Date
    /// When it logged in.
    public let loginTime: Date
    /// Its app attributes (the app's own data: a `User-Agent` it kept, for example).
    public let attributes: [String: SessionValue]

    /// The app node whose route it carries (sticky mode), if any.
    public var jvmRoute: String? { id.jvmRoute }
    /// The store node holding it, if the store has node ids.
    public var storeNode: String? { id.nodeID }
}
