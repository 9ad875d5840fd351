#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

extension SessionManager {
    /// How long a route lease lives without a refresh: a process that died holds its route this
    /// long at most (the background work refreshes it every second).
    static let routeLeaseTTL = Duration.seconds(5)

    /// The lease of the configured route: `<prefix>route:{<route>}`, on the first store node in
    /// `memcachedNodes` order that is not a failover node (every process of the context has the
    /// same list, so they all look at one key). `nil` when there is nothing to lease (no
    /// `jvmRoute`, or not sticky).
    var routeLease: (key: String, store: any SessionStore)? {
        guard policy.isSticky, let configured = route.configured else { return nil }
        let node = storage.nodes.first { !$0.isFailover } ?? storage.nodes[0]
        return (storage.keys.routeLease(configured), node.store)
    }

    /// This process as a lease holder.
    var leaseHolder: RouteLease.Holder { RouteLease.Holder(host: Self.hostName, pid: getpid(), instance: route.ownRoute) }

    /// Says once at start which route sticky mode uses, and why.
    func logRouteAtStart() {
        guard policy.isSticky else { return }
        if let configured = route.configured {
            logger.info(
                "sticky sessions with jvmRoute '\(configured)': the route is leased in the store, so that a second live process with the same route is detected (it then uses a route of its own)",
                metadata: ["sm.route": "\(configured)"]
            )
        } else {
            logger.info(
                "sticky sessions without a jvmRoute: this process tags the ids it issues with its own route '\(route.ownRoute)' (new at each start), so that a request for a session another process may have changed reads it from the store",
                metadata: ["sm.route": "\(route.ownRoute)"]
            )
        }
    }

    /// One round of the route lease (at start, then once a second from the background work):
    /// takes or refreshes it, and applies what ``RouteLease`` decides. Never fails a request: a
    /// store that does not answer leaves everything as it was.
    func renewRouteLease() async {
        guard let (key, store) = routeLease, let step = route.lease.withLock({ $0.nextStep }) else { return }
        let holder = leaseHolder
        let ttl = Self.routeLeaseTTL
        var outcome: RouteLease.Outcome
        switch step {
        case .acquire: outcome = await Self.acquire(key, holder, ttl, on: store)
        case .extend(let lock): outcome = await Self.extend(lock, ttl, on: store)
        }
        // At most a few steps: acquire again after a loss, name the holder, break a stale lease.
        for _ in 0..<4 {
            let (action, lease) = route.lease.withLock { lease in (lease.received(outcome), lease) }
            route.update(from: lease)
            switch action {
            case .none:
                return
            case .announceHeld(let reclaimed):
                if reclaimed {
                    logger.notice(
                        "jvmRoute '\(route.configured ?? "")' is free again: this process uses it again",
                        metadata: ["sm.route": "\(route.configured ?? "")"]
                    )
                }
                return
            case .announceDuplicate(let other):
                logger.error(
                    "jvmRoute '\(route.configured ?? "")' is already used by another live process (\(other.map { "\($0)" } ?? "unknown holder")) on the same store: two processes with one route would serve stale sessions; this process uses its own route '\(route.ownRoute)' until the other one stops. Give each process its own jvmRoute.",
                    metadata: ["sm.route": "\(route.configured ?? "")", "sm.holder": "\(other.map { "\($0)" } ?? "unknown")"]
                )
                return
            case .giveBack(let lock):
                _ = try? await store.unlock(lock)
                return
            case .acquireAgain:
                outcome = await Self.acquire(key, holder, ttl, on: store)
            case .identifyHolder:
                do {
                    // Read once, when the route is first found taken (it refreshes the holder's
                    // lease: a live holder does that anyway, a gone one is found below).
                    let value = try await store.getAndTouch(key, ttl: ttl)
                    let other = value.flatMap { RouteLease.Holder(token: $0) }
                    let gone = other.map { $0.host == holder.host && $0.pid != holder.pid && !Self.processIsRunning($0.pid) } ?? false
                    outcome = .holder(other, goneFromThisHost: gone)
                } catch {
                    outcome = .unreachable
                }
            case .breakStaleLease(let previous):
                logger.notice(
                    "jvmRoute '\(route.configured ?? "")' was leased by a process of this host that is gone (pid \(previous.pid)); taken over",
                    metadata: ["sm.route": "\(route.configured ?? "")"]
                )
                do {
                    try await store.delete(key)
                    outcome = await Self.acquire(key, holder, ttl, on: store)
                } catch {
                    outcome = .unreachable
                }
            }
        }
    }

    /// Gives the lease back at stop, so that a restart (or another process) gets the route at once.
    func releaseRouteLease() async {
        guard let (_, store) = routeLease, let lock = route.lease.withLock({ $0.release() }) else { return }
        _ = try? await store.unlock(lock)
    }

    private static func acquire(_ key: String, _ holder: RouteLease.Holder, _ ttl: Duration, on store: any SessionStore) async -> RouteLease.Outcome {
        do {
            // The read half of the lock command reads a key that never exists (same hash tag, so
            // a Redis Cluster sends both to one slot): the lease is only taken, nothing touched.
            switch try await store.lockAndRead(lock: key, token: holder.token, lockTTL: ttl, read: key + ":none", ttl: ttl) {
            case .acquired(let lock, _): return .held(lock)
            case .busy: return .busy
            }
        } catch {
            return .unreachable
        }
    }

    private static func extend(_ lock: StoreLock, _ ttl: Duration, on store: any SessionStore) async -> RouteLease.Outcome {
        do {
            return try await store.extendLock(lock, ttl: ttl).map { .held($0) } ?? .lost
        } catch {
            return .unreachable
        }
    }

    /// `kill(pid, 0)`: the process exists (or exists and is not ours to signal).
    private static func processIsRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// This machine's name (`gethostname`, no resolver involved).
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty || name.contains(" ") ? "unknown-host" : name
    }()
}
