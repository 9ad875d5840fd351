import Synchronization

/// The route this process puts in the session ids it issues, and by which it tells its own
/// sessions from those another app node may have changed (sticky mode, see
/// ``SessionManager/namesAnotherAppNode(_:)``).
///
/// Sticky mode serves a session from memory only when its id carries this process's route: any
/// other id means another process may have served (and changed) the session since, so it is read
/// from the store and taken over. That works only if no two live processes share a route:
/// - **Without a `jvmRoute`** a process has a route of its own, random per start
///   (``ownRoute``), so that a round-robin balancer in front of two such processes loses no
///   update; a single node keeps working unchanged (after a restart its sessions are read from
///   the store once, and their ids get the new route).
/// - **With a `jvmRoute`**, a lease in the store (``RouteLease``) detects a second live process
///   with the same route; the one that finds it taken uses its own route until the lease is free.
///
/// Read on every sticky request: one relaxed atomic load.
final class AppNodeRoute: Sendable {
    /// The engine's `jvmRoute`, if any.
    let configured: String?
    /// This process's own route: random per process start (`[a-z0-9]`, 12 characters).
    let ownRoute: String
    /// `true` while the configured route is leased by another process (or there is none).
    private let usesOwn: Atomic<Bool>
    /// The lease on the configured route (used only by the manager's background work).
    let lease = Mutex(RouteLease())

    init(configured: String?) {
        self.configured = configured
        self.ownRoute = Self.makeOwnRoute()
        self.usesOwn = Atomic(configured == nil)
    }

    /// The route of the ids issued now.
    var current: String {
        guard let configured, !usesOwn.load(ordering: .relaxed) else { return ownRoute }
        return configured
    }

    /// Applies the lease's decision.
    func update(from lease: RouteLease) {
        guard configured != nil else { return }
        usesOwn.store(!lease.usesConfiguredRoute, ordering: .relaxed)
    }

    /// A letter, then 11 characters of base 36 from the system CSPRNG: no configured route
    /// looks like it by accident, and two processes draw the same one with a chance of 1 in 2^56.
    static func makeOwnRoute() -> String {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var bytes: [UInt8] = [alphabet[Int(rng.next(upperBound: UInt8(26)))]]
        for _ in 0..<11 { bytes.append(alphabet[Int(rng.next(upperBound: UInt8(36)))]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
