import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import SessionManager
import SessionStoreNIO
import SessionTesting
import Testing

@testable import RedisSessionStore

/// Automatic pipelining: what one event-loop tick writes goes out in one flush, deadlines still
/// hold command by command, and callers on an event loop never hop threads.
@Suite(.capturedLog) struct PipelineHandlerTests {
    /// A connected embedded channel (active, so that closing it shows).
    func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: PipelineHandler<String>())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func command(_ channel: EmbeddedChannel, _ text: String, deadline: NIODeadline) -> EventLoopFuture<String> {
        let promise = channel.eventLoop.makePromise(of: String.self)
        // As StoreConnection does: a write that never reaches the handler fails the command.
        channel.write(PendingCommand(bytes: ByteBuffer(string: text), promise: promise, deadline: deadline)).whenFailure {
            promise.fail($0)
        }
        return promise.futureResult
    }

    @Test func commandsOfOneTickAreFlushedOnceAtItsEnd() throws {
        let channel = try makeChannel()
        let loop = channel.embeddedEventLoop
        let deadline = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let replies = ["a", "b", "c"].map { command(channel, $0, deadline: deadline) }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing flushed while the tick runs")
        loop.run()
        let sent = try (0..<3).compactMap { _ in try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } }
        #expect(sent == ["a", "b", "c"])
        for reply in ["A", "B", "C"] { try channel.writeInbound(reply) }
        #expect(try replies.map { try $0.wait() } == ["A", "B", "C"], "replies in order")
    }

    @Test func aBurstOverTheBudgetIsFlushedWithoutWaiting() throws {
        let channel = try makeChannel()
        let big = String(repeating: "x", count: PipelineHandler<String>.flushBudget)
        _ = command(channel, big, deadline: .uptimeNanoseconds(1_000_000_000))
        #expect(try channel.readOutbound(as: ByteBuffer.self)?.readableBytes == big.utf8.count)
    }

    /// What became of a command, read without blocking (an embedded loop never completes a
    /// future by itself, so `wait()` on a pending one would block for ever).
    func outcome(_ future: EventLoopFuture<String>) -> String {
        var outcome = "pending"
        future.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let reply): outcome = reply
            case .failure(let error as StoreClientError): outcome = "\(error.code)"
            case .failure(let error): outcome = "\(error)"
            }
        }
        return outcome
    }

    /// A timeout in the middle of a coalesced batch: the commands answered before it succeed, the
    /// expired ones time out, the later ones fail as closed, and the connection closes.
    @Test func aTimeoutInTheMiddleOfABatch() throws {
        let channel = try makeChannel()
        let loop = channel.embeddedEventLoop
        let early = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let late = NIODeadline.uptimeNanoseconds(5_000_000_000)
        let commands = [early, early, early, late].enumerated().map { command(channel, "\($0.offset)", deadline: $0.element) }
        loop.run()
        try channel.writeInbound("one")
        #expect(commands.map(outcome) == ["one", "pending", "pending", "pending"])
        loop.advanceTime(to: .uptimeNanoseconds(2_000_000_000))
        #expect(commands.map(outcome) == ["one", "timeout", "timeout", "connectionClosed"])
        #expect(!channel.isActive, "a timed-out command closes its connection")
        // Nothing can be sent on it any more, so a late reply can never be taken for another command's.
        #expect(outcome(command(channel, "5", deadline: late)) != "pending")
    }

    /// A caller resumed by a timeout may send its next command at once, from another thread: by
    /// then the connection must already be closed, or the pool would hand it out again (CI saw
    /// "connection is closed" on the command after a timeout).
    @Test func aTimedOutCallerFindsItsConnectionAlreadyClosed() throws {
        let channel = try makeChannel()
        let loop = channel.embeddedEventLoop
        let deadline = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var activeWhenFailed: [Bool] = []
        for text in ["a", "b"] {
            command(channel, text, deadline: deadline).assumeIsolated().whenFailure { _ in activeWhenFailed.append(channel.isActive) }
        }
        loop.run()
        loop.advanceTime(to: .uptimeNanoseconds(2_000_000_000))
        #expect(activeWhenFailed == [false, false])
    }

    @Test func answeredCommandsNeverTimeOut() throws {
        let channel = try makeChannel()
        let loop = channel.embeddedEventLoop
        for round in 1...5 {
            let reply = command(channel, "\(round)", deadline: .uptimeNanoseconds(UInt64(round) * 1_000_000_000))
            loop.run()
            try channel.writeInbound("ok")
            #expect(try reply.wait() == "ok")
            loop.advanceTime(to: .uptimeNanoseconds(UInt64(round) * 1_000_000_000 + 500_000_000))
        }
        #expect(channel.isActive)
    }
}

@Suite(.capturedLog, .enabled(if: StoreServerProcess.Kind.redis().isRunnable, "\(StoreServerProcess.Kind.redis().installHint)"))
struct RedisPipeliningTests {
    /// Against a real server: a command that blocks the connection (`BLPOP` for 2 s) in the middle
    /// of concurrent commands, with a 300 ms operation timeout.
    @Test func aTimeoutInTheMiddleOfConcurrentCommandsOnARealServer() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            // One loop and one connection: every command shares it.
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let store = RedisSessionStore(
                url: RedisURL(host: "127.0.0.1", port: server.port),
                configuration: StoreClientConfiguration(operationTimeout: .milliseconds(300), connectionsPerEventLoop: 1),
                eventLoopGroup: group
            )
            try await store.set("sm:x", value: [1], ttl: .seconds(60))
            // Concurrent, on one connection: they are written in the order they reach its loop.
            // Each task notes when it issued its command and when its outcome came back.
            let results = (0..<6).map { index in
                Task { () -> (issued: ContinuousClock.Instant, outcome: String, ended: ContinuousClock.Instant) in
                    try await Task.sleep(for: .milliseconds(10 * index))
                    let issued = ContinuousClock.now
                    do {
                        if index == 3 {
                            _ = try await store.command([Array("BLPOP".utf8), Array("sm:empty".utf8), Array("2".utf8)])
                        } else {
                            _ = try await store.command([Array("GET".utf8), Array("sm:x".utf8)])
                        }
                        return (issued, "ok", ContinuousClock.now)
                    } catch let error as StoreClientError {
                        return (issued, "\(error.code)", ContinuousClock.now)
                    }
                }
            }
            var runs: [(issued: ContinuousClock.Instant, outcome: String, ended: ContinuousClock.Instant)] = []
            for result in results { runs.append(try await result.value) }
            let outcomes = runs.map(\.outcome)
            #expect(outcomes[3] == "timeout", "\(outcomes)")
            #expect(outcomes[0..<3].allSatisfy { $0 == "ok" }, "\(outcomes)")
            // A command issued well before the blocked one timed out was queued behind it on the
            // same connection: it must not be answered. (On a loaded machine a task may start so
            // late that its command goes out on the new connection, after the timeout: that one
            // may succeed.)
            let queuedBehind = runs[4...].filter { runs[3].ended - $0.issued > .milliseconds(150) }
            #expect(queuedBehind.allSatisfy { $0.outcome != "ok" }, "nothing queued behind the blocked command is answered: \(outcomes)")
            #expect(try await store.getAndTouch("sm:x", ttl: .seconds(60)) == [1], "a new connection serves the next command")
            await store.shutdown()
            try await group.shutdownGracefully()
        }
    }
}
