import Foundation
import Logging

/// Where a principal's index and the tombstones of sessions invalidated by principal are kept
/// (see ``PrincipalIndex`` and ``SessionKeys/tombstone(_:)``).
///
/// A principal's index lives on the principal's node, chosen from its key as a session's node is
/// chosen for it, with a copy on the next node (sessions' backup rule): changed there by
/// compare-and-set, copied to the next node after each change; while the principal's node is
/// down, the next node's copy is changed instead. Reads take the union of the same two copies, so
/// a session indexed on either is found ("log out everywhere" works while one node is down).
extension SessionStorage {
    /// The nodes an index lives on now, in order: the first changes it, the second keeps its copy.
    /// The primary nodes that are up, from the one its key hashes to; the failover nodes only
    /// while no primary node is up (as for sessions: never a copy's home otherwise); every node
    /// when none is up (to be asked anyway).
    func indexNodes(for key: String) -> [Node] {
        let primaries = nodes.filter { !$0.isFailover }
        let hash = key.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        let start = primaries.isEmpty ? 0 : Int(hash % UInt64(primaries.count))
        let ordered = (0..<primaries.count).map { primaries[(start + $0) % primaries.count] } + nodes.filter(\.isFailover)
        let up = ordered.filter(\.availability.isUp)
        let upPrimaries = up.filter { !$0.isFailover }
        return !upPrimaries.isEmpty ? upPrimaries : up.isEmpty ? ordered : up
    }

    /// How many times a change of an index is tried again after another node changed it first.
    static let indexUpdateAttempts = 64

    /// Reads, changes and writes back the index at `key` by compare-and-set, again while another
    /// node changed it meanwhile; then copies it to the next node. `change` gets the index (empty
    /// when absent or unreadable) and the time in Unix milliseconds, and returns its result; an
    /// index left with no member is deleted.
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when no node that may hold it answers,
    ///   or when it stayed contended for ``indexUpdateAttempts`` tries.
    func updateIndex<R: Sendable>(_ key: String, _ change: (inout PrincipalIndex, Int64) throws -> R) async throws -> R {
        var failure: (any Error)?
        let candidates = indexNodes(for: key)
        for (position, node) in candidates.enumerated() {
            do {
                let (result, written) = try await compareAndSet(key, on: node, change)
                if let written, let copy = candidates.dropFirst(position + 1).first {
                    _ = try? await command(on: copy) { store in
                        if let bytes = written.bytes { try await store.set(key, value: bytes, ttl: written.ttl) } else { try await store.delete(key) }
                    }
                }
                return result
            } catch where StoreFailureKind.isOutage(error) {
                failure = error
            }
        }
        throw SessionManagerError(.storeUnavailable, "no store node for the principal's index answered", underlying: failure)
    }

    /// One node's compare-and-set loop: the change's result, and what was written (`nil`: the
    /// index was unchanged and nothing was written; `bytes` `nil`: the key was deleted).
    private func compareAndSet<R>(_ key: String, on node: Node, _ change: (inout PrincipalIndex, Int64) throws -> R) async throws -> (R, written: (bytes: [UInt8]?, ttl: Duration)?) {
        for _ in 0..<Self.indexUpdateAttempts {
            let read = try await command(on: node) { try await $0.getVersioned(key) }
            let original = read.flatMap { PrincipalIndex(encoded: $0.bytes) }
            var index = original ?? PrincipalIndex()
            let now = Date().unixMilliseconds
            let result = try change(&index, now)
            let ttl = index.keyTTL(now: now).map { Duration.milliseconds($0) }
            let bytes = ttl == nil ? nil : index.encoded
            // Unchanged (nothing pruned, nothing added): nothing to write, nor to copy.
            if index == original || (read == nil && bytes == nil) { return (result, nil) }
            let written = (bytes: bytes, ttl: ttl ?? .seconds(1))
            if try await command(on: node, { try await $0.setIfUnchanged(key, value: written.bytes, ttl: written.ttl, expected: read) }) {
                return (result, written)
            }
            // Another node changed it first: read it again. A short random pause spreads the
            // retries of simultaneous logins.
            try await Task.sleep(for: .microseconds(Int.random(in: 100...2000)))
        }
        throw SessionManagerError(.storeUnavailable, "the principal's index stayed contended for \(Self.indexUpdateAttempts) tries")
    }

    /// The index at `key`: the union of its node's copy and the next node's (pruned).
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when neither answered.
    func readIndex(_ key: String) async throws -> PrincipalIndex {
        var merged = PrincipalIndex()
        var answered = false
        var failure: (any Error)?
        for node in indexNodes(for: key).prefix(2) {
            do {
                if let read = try await command(on: node, { try await $0.getVersioned(key) }), let index = PrincipalIndex(encoded: read.bytes) {
                    merged.merge(index)
                }
                answered = true
            } catch where StoreFailureKind.isOutage(error) {
                failure = error
            }
        }
        guard answered else { throw SessionManagerError(.storeUnavailable, "no store node holding the principal's index answered", underlying: failure) }
        merged.prune(now: Date().unixMilliseconds)
        return merged
    }

    /// Writes the tombstone of the session with random part `random` on every node that answers
    /// (its copy may be on any after relocations), for `ttl`.
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when no node answered.
    func writeTombstone(_ random: String, ttl: Duration) async throws {
        let key = keys.tombstone(random)
        var written = false
        var failure: (any Error)?
        for node in nodes where node.availability.isUp {
            do {
                try await command(on: node) { try await $0.set(key, value: Array("1".utf8), ttl: ttl) }
                written = true
            } catch {
                failure = error
            }
        }
        if !written { throw SessionManagerError(.storeUnavailable, "no store node took the tombstone", underlying: failure) }
    }

    /// Deletes a session invalidated by principal from every node that answers: its primary copy
    /// and its backup copies, wherever relocations may have left them (best effort: its tombstone
    /// stops whatever copy a down node still holds from being used again).
    func deleteEverywhere(_ id: SessionID) async {
        let key = key(for: id)
        for node in nodes where node.availability.isUp {
            _ = try? await command(on: node) { store in
                try await store.delete(key)
                try await store.delete(SessionKeys.backup(ofPrimary: key))
            }
        }
    }

    /// Whether the session `id` was invalidated by principal: its tombstone on its primary node.
    func isTombstoned(_ id: SessionID) async throws -> Bool {
        guard let primary = node(for: id) else { return false }
        let key = keys.tombstone(id.random)
        return try await command(on: primary) { try await $0.getVersioned(key) } != nil
    }
}

extension SessionStorage {
    /// A session's bytes without touching them (a listing must not keep sessions alive): its
    /// primary copy, or its backup while the primary node is down; `nil` when neither has it.
    func peek(_ id: SessionID) async throws -> [UInt8]? {
        guard let primary = node(for: id) else { return nil }
        let key = key(for: id)
        if primary.availability.isUp {
            return try await command(on: primary) { try await $0.getVersioned(key) }?.bytes
        }
        for backup in backupCandidates(after: primary) {
            if let found = try? await command(on: backup, { try await $0.getVersioned(SessionKeys.backup(ofPrimary: key)) }) {
                return found.bytes
            }
        }
        return nil
    }

    /// The nodes that carry notices (see ``NoticeCarrier``).
    var noticeCarriers: [any NoticeCarrier] { nodes.compactMap { $0.store as? any NoticeCarrier } }

    /// Announces on every node that carries notices that the session with random part `random`
    /// was invalidated (best effort: the tombstone is the guarantee, the notice the speed).
    func announceInvalidation(of random: String) async {
        for carrier in noticeCarriers {
            do {
                try await carrier.publish(keys.invalidationChannel, random)
            } catch {
                logger.debug("invalidation notice not sent", metadata: ["sm.error": "\(error)"])
            }
        }
    }
}
