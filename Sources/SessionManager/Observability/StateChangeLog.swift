import Synchronization

/// A condition logged when it starts and when it ends, never per occurrence: a store that is down
/// for a minute under a thousand requests a second logs two lines, not sixty thousand.
///
/// Checking that the condition is over costs one relaxed atomic load, so the success path of every
/// request can report it.
final class StateChangeLog: Sendable {
    private let active = Atomic<Bool>(false)

    /// `true` while the condition holds.
    var isActive: Bool { active.load(ordering: .relaxed) }

    /// The condition holds (again): `log` runs if it did not hold before.
    func begin(_ log: () -> Void) {
        guard !active.load(ordering: .relaxed) else { return }
        if !active.exchange(true, ordering: .acquiringAndReleasing) { log() }
    }

    /// The condition is over: `log` runs if it held.
    @inline(__always)
    func end(_ log: () -> Void) {
        guard active.load(ordering: .relaxed) else { return }
        if active.exchange(false, ordering: .acquiringAndReleasing) { log() }
    }
}
