import Foundation
import SessionTesting
import Testing

/// Sticky mode is never stale, whatever the balancer does: two sample processes on one real store,
/// requests alternating between them as a round-robin balancer sends them, without a `jvmRoute`
/// and with one `jvmRoute` copied to both (see `AppNodeRoute`).
@Suite(.capturedLog, .serialized)
struct StickyRouteTests {
    typealias AppNode = StickySessionTests.AppNode

    /// Sends `/count` `times` times, alternating between `nodes`, with the cookie each answer
    /// gives; the counts answered.
    static func alternate(_ nodes: [AppNode], times: Int, cookie start: String? = nil) async throws -> (counts: [Int], cookie: String?) {
        var cookie = start
        var counts: [Int] = []
        for index in 0..<times {
            let (count, _, next) = try await nodes[index % nodes.count].get("/count", cookie: cookie)
            counts.append(count)
            cookie = next
        }
        return (counts, cookie)
    }

    @Test(arguments: StickySessionTests.kinds)
    func withoutAJvmRouteAlternatingRequestsLoseNoUpdate(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = #"memcachedNodes="\#(StickySessionTests.entry(kind, "n1", server))""#
            let first = try await AppNode.start(route: nil, nodes)
            defer { first.kill() }
            let second = try await AppNode.start(route: nil, nodes)
            defer { second.kill() }
            let (counts, _) = try await Self.alternate([first, second], times: 8)
            #expect(counts == Array(1...8), "every other update was lost before each process had a route of its own")

            // Each process tags its ids with a route of its own: a new session of each names it.
            let (_, idOfFirst, _) = try await first.get("/count", cookie: nil)
            let (_, idOfSecond, _) = try await second.get("/count", cookie: nil)
            let routeOfFirst = idOfFirst.split(separator: ".").last
            let routeOfSecond = idOfSecond.split(separator: ".").last
            #expect(idOfFirst.contains(".") && idOfSecond.contains(".") && routeOfFirst != routeOfSecond, "\(idOfFirst) \(idOfSecond)")
        }
    }

    @Test(arguments: StickySessionTests.kinds)
    func aSingleNodeWithoutAJvmRouteKeepsItsSessionsAcrossARestart(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = #"memcachedNodes="\#(StickySessionTests.entry(kind, "n1", server))""#
            let node = try await AppNode.start(route: nil, nodes)
            let (counts, cookie) = try await Self.alternate([node], times: 3)
            #expect(counts == [1, 2, 3])
            await node.stop(SIGTERM)
            let restarted = try await AppNode.start(route: nil, nodes)
            defer { restarted.kill() }
            // The new process has another route: the session is read from the store (taken over).
            let (after, _) = try await Self.alternate([restarted], times: 2, cookie: cookie)
            #expect(after == [4, 5])
        }
    }

    @Test(arguments: StickySessionTests.kinds)
    func aDuplicateJvmRouteIsReportedAndLosesNoUpdate(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = #"memcachedNodes="\#(StickySessionTests.entry(kind, "n1", server))""#
            let holder = try await AppNode.start(route: "node1", nodes)
            defer { holder.kill() }
            // The holder's lease is taken in its first round, at start.
            try await Task.sleep(for: .milliseconds(300))
            let copy = try await AppNode.start(route: "node1", nodes)
            defer { copy.kill() }

            let started = ContinuousClock.now
            var log = ""
            while ContinuousClock.now - started < .seconds(5) {
                log = try SampleProcessTests.stderr(of: copy.process)
                if log.contains("already used by another live process") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(log.contains("jvmRoute 'node1' is already used by another live process"), "\(log)")
            #expect(log.contains("pid \(holder.process.processIdentifier)"), "the error names the holder: \(log)")
            #expect(try !SampleProcessTests.stderr(of: holder.process).contains("already used"), "the holder keeps its route")

            let (counts, _) = try await Self.alternate([holder, copy], times: 8)
            #expect(counts == Array(1...8))
            let (_, idOfCopy, _) = try await copy.get("/count", cookie: nil)
            #expect(!idOfCopy.hasSuffix(".node1"), "the copy issues ids with its own route: \(idOfCopy)")

            // The holder stops (its lease is given back): the copy takes the route back.
            await holder.stop(SIGTERM)
            var reclaimed = false
            for _ in 0..<40 where !reclaimed {
                try await Task.sleep(for: .milliseconds(100))
                reclaimed = try await copy.get("/count", cookie: nil).id.hasSuffix(".node1")
            }
            #expect(reclaimed, "the route comes back once the other process is gone")
        }
    }

    @Test(arguments: StickySessionTests.kinds)
    func aRestartAfterACrashIsNotReportedAsADuplicate(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = #"memcachedNodes="\#(StickySessionTests.entry(kind, "n1", server))""#
            let crashed = try await AppNode.start(route: "node1", nodes)
            try await Task.sleep(for: .milliseconds(300))
            await crashed.stop(SIGKILL)  // its lease stays in the store
            let restarted = try await AppNode.start(route: "node1", nodes)
            defer { restarted.kill() }
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try !SampleProcessTests.stderr(of: restarted.process).contains("already used"))
            #expect(try await restarted.get("/count", cookie: nil).id.hasSuffix(".node1"))
        }
    }
}
