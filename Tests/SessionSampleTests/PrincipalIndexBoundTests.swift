import Foundation
import Logging
import MemcachedSessionStore
import RedisSessionStore
@testable import SessionManager
import SessionTesting
import Testing

/// A principal's index stays bounded on real stores: 10 000 sessions of one user, each living
/// one second, leave it with at most the live ones, its key always expiring, and gone once they
/// are.
@Suite(.capturedLog) struct PrincipalIndexBoundTests {
    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func tenThousandShortSessionsOfOneUser(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let store: any SessionStore = if case .redis = kind {
                RedisSessionStore(url: RedisURL(host: "127.0.0.1", port: server.port))
            } else {
                MemcachedSessionStore(host: "127.0.0.1", port: server.port)
            }
            var configuration = ManagerConfiguration()
            configuration.maxInactiveInterval = 1
            configuration.sticky = false
            let manager = SessionManager(configuration: configuration, nodes: [SessionStoreNode(id: nil, store: store)], logger: Logger(label: "test"))
            let running = Task { try await manager.runUntilStopped() }
            defer { manager.stop() }
            let key = manager.storage.keys.principalIndex("mallory")
            var logins: [ContinuousClock.Instant] = []
            let start = ContinuousClock.now
            for n in 1...10_000 {
                try await manager.makeSession().logIn(principal: "mallory")
                logins.append(.now)
                guard n % 500 == 0 else { continue }
                let members = try await manager.storage.readIndex(key).members.count
                // A member counts until its session's time to live and a quarter more (1.25 s).
                let live = logins.reversed().prefix { ContinuousClock.now - $0 < .milliseconds(1300) }.count
                #expect(members <= live, "\(kind): \(members) members, \(live) sessions live")
                if case .redis = kind, let redis = store as? RedisSessionStore {
                    let ttl = try await redis.command([Array("PTTL".utf8), Array(key.utf8)])
                    guard case .integer(let milliseconds) = ttl else { throw ClientError("PTTL answered \(ttl)") }
                    #expect((1...1250).contains(milliseconds), "the index key always expires: PTTL \(milliseconds)")
                } else {
                    let ttl = try await server.memcachedTTL(key)
                    #expect(ttl.map { (1...2).contains($0) } == true, "the index key always expires: \(String(describing: ttl)) s")
                }
            }
            let elapsed = ContinuousClock.now - start
            try await Task.sleep(for: .milliseconds(2100))
            #expect(try await manager.storage.readIndex(key).members.isEmpty)
            #expect(try await store.getVersioned(key) == nil, "\(kind): the index key is gone with its sessions (10 000 logins in \(elapsed))")
            manager.stop()
            _ = try? await running.value
        }
    }
}
