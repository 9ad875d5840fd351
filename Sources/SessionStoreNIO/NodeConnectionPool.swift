import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SessionManager
import Synchronization

/// The connections to one store node: a few per event loop, opened on first use, reopened with
/// backoff after a failure, and failing fast while the node is down.
///
/// Commands are pipelined, so a connection is shared by every concurrent caller instead of being
/// leased. A caller running on one of the group's event loops (as the bundled server's requests do)
/// uses a connection of its own loop, which avoids a thread hop per command.
package final class NodeConnectionPool<Reply: Sendable>: Sendable {
    /// Opens a connection on `eventLoop` (channel set up with the protocol decoder and a
    /// `PipelineHandler<Reply>`), including any handshake such as AUTH or SELECT.
    package typealias Connector = @Sendable (_ eventLoop: any EventLoop, _ timeout: Duration) async throws -> StoreConnection<Reply>

    private enum Slot {
        case idle
        case connecting([CheckedContinuation<StoreConnection<Reply>, any Error>])
        case connected(StoreConnection<Reply>)
        case down(until: ContinuousClock.Instant, failures: Int, error: StoreClientError)
    }

    private enum Decision { case use(StoreConnection<Reply>), wait(Int), open(Int), fail(StoreClientError) }

    private struct State {
        var slots: [Slot]
        var failures = 0
        var shutDown = false
        /// Advanced by every command: picks the loop of a caller off the group, and the slot.
        var rotation = 0
    }

    /// The node, for messages (`host:port`).
    package let node: String
    /// Timeouts, pool size, backoff.
    package let configuration: StoreClientConfiguration
    private let loops: [any EventLoop]
    private let connector: Connector
    private let state: Mutex<State>
    /// Per event loop, the connection a caller on that loop last got, read there without taking
    /// ``state``'s lock: with one connection per loop (the default) every command of a loop uses
    /// the same one, and the lock (whose cache line both loops would pass back and forth on every
    /// command) is only needed to open, replace or give up a connection.
    private let lastUsed: [NIOLoopBoundBox<StoreConnection<Reply>?>]
    private let logger: Logger
    private let hops = Atomic<Int>(0)
    /// Where connection attempts report whether the node can be reached (the manager's notion of
    /// the node being down); without one, the pool logs the changes itself.
    private let reachability = Mutex<(any StoreReachabilityObserver)?>(nil)

    /// Sends the outcome of every later connection attempt to `observer` (see
    /// ``StoreReachabilityObserver``): the manager then logs and counts the node's changes, once.
    package func reportReachability(to observer: any StoreReachabilityObserver) {
        reachability.withLock { $0 = observer }
    }

    /// Creates a pool; nothing is opened until the first command.
    package init(
        node: String,
        configuration: StoreClientConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        connector: @escaping Connector
    ) {
        self.node = node
        self.configuration = configuration
        self.loops = Array(eventLoopGroup.makeIterator())
        self.connector = connector
        self.logger = logger
        self.state = Mutex(State(slots: Array(repeating: .idle, count: max(1, loops.count) * configuration.connectionsPerEventLoop)))
        self.lastUsed = loops.map { NIOLoopBoundBox.makeEmptyBox(valueType: StoreConnection<Reply>.self, eventLoop: $0) }
    }

    /// Sends a command on a connection of this node and returns its reply.
    /// - Throws: ``StoreClientError`` (`timeout`, `connectionClosed`, `nodeDown`, `connectFailed`, `shutDown`).
    package func send(_ bytes: ByteBuffer) async throws -> Reply {
        let connection = try await connection()
        if !connection.channel.eventLoop.inEventLoop { hops.add(1, ordering: .relaxed) }
        return try await connection.send(bytes, timeout: configuration.operationTimeout)
    }

    /// Sends two commands back to back on one connection (the list `send`): the server runs
    /// the second after the first (a lock, then the read it guards), and the caller waits one round trip.
    package func send(_ first: ByteBuffer, then second: ByteBuffer) async throws -> (Reply, Reply) {
        let replies = try await send([first, second])
        return (replies[0], replies[1])
    }

    /// Sends commands back to back on one connection (see ``StoreConnection/send(_:timeout:)``).
    package func send(_ commands: [ByteBuffer]) async throws -> [Reply] {
        let connection = try await connection()
        if !connection.channel.eventLoop.inEventLoop { hops.add(commands.count, ordering: .relaxed) }
        return try await connection.send(commands, timeout: configuration.operationTimeout)
    }

    /// Commands sent from a thread other than their connection's event loop (each costs a thread
    /// hop there and back). A caller running on one of the group's event loops, as the bundled
    /// server's requests do, uses a connection of that loop, so this stays 0 under the server.
    package var commandsFromOtherThreads: Int { hops.load(ordering: .relaxed) }

    /// A connection to use now: one of the caller's event loop (opened if need be, so that the
    /// command and its reply never cross threads), or, while that loop's slots are down, any open one.
    package func connection() async throws -> StoreConnection<Reply> {
        let perLoop = configuration.connectionsPerEventLoop
        let callerLoop = MultiThreadedEventLoopGroup.currentEventLoop.flatMap { current in loops.firstIndex { $0 === current } }
        if perLoop == 1, let callerLoop {
            if let cached = lastUsed[callerLoop].value, cached.channel.isActive { return cached }
            let connection = try await lockedConnection(callerLoop: callerLoop)
            // Still on the caller's loop (its task runs there), and the connection is that loop's.
            if loops[callerLoop].inEventLoop, connection.channel.eventLoop === loops[callerLoop] {
                lastUsed[callerLoop].value = connection
            }
            return connection
        }
        return try await lockedConnection(callerLoop: callerLoop)
    }

    /// ``connection()`` under the pool's lock: picks, opens or waits for a connection.
    private func lockedConnection(callerLoop: Int?) async throws -> StoreConnection<Reply> {
        let perLoop = configuration.connectionsPerEventLoop
        let decision: Decision = state.withLock { state in
            if state.shutDown { return .fail(StoreClientError(.shutDown, "store for \(node) is shut down")) }
            // The caller's loop, or for a caller elsewhere the next loop in turn; within it, the
            // slots from a rotating start so that its connections share the commands.
            state.rotation &+= 1
            let base = (callerLoop ?? state.rotation % max(1, loops.count)) * perLoop
            let start = state.rotation % perLoop
            for offset in 0..<perLoop {
                let index = base + (start + offset) % perLoop
                if case .connected(let connection) = state.slots[index] {
                    if connection.channel.isActive { return .use(connection) }
                    state.slots[index] = .idle
                }
            }
            let now = ContinuousClock.now
            var downError: StoreClientError?
            for offset in 0..<perLoop {
                let index = base + (start + offset) % perLoop
                switch state.slots[index] {
                case .connecting: return .wait(index)
                case .idle:
                    state.slots[index] = .connecting([])
                    return .open(index)
                case .down(let until, _, let error):
                    if now >= until {
                        state.slots[index] = .connecting([])
                        return .open(index)
                    }
                    downError = error
                case .connected: break
                }
            }
            // This loop's connections are backing off: any other open connection will do.
            for index in state.slots.indices {
                if case .connected(let connection) = state.slots[index], connection.channel.isActive { return .use(connection) }
            }
            return .fail(
                StoreClientError(.nodeDown, "\(node) is down (\(downError?.message ?? "no connection")); next attempt after backoff")
            )
        }
        switch decision {
        case .use(let connection): return connection
        case .fail(let error): throw error
        case .wait(let index):
            return try await withCheckedThrowingContinuation { continuation in
                let ready: Result<StoreConnection<Reply>, any Error>? = state.withLock { state in
                    switch state.slots[index] {
                    case .connecting(var waiters):
                        waiters.append(continuation)
                        state.slots[index] = .connecting(waiters)
                        return nil
                    case .connected(let connection): return .success(connection)
                    case .down(_, _, let error): return .failure(error)
                    case .idle: return .failure(StoreClientError(.connectionClosed, "connection to \(node) closed"))
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        case .open(let index):
            return try await open(index)
        }
    }

    private func open(_ index: Int) async throws -> StoreConnection<Reply> {
        let loop = loops.isEmpty ? MultiThreadedEventLoopGroup.singleton.any() : loops[index / configuration.connectionsPerEventLoop]
        let attemptStart = ContinuousClock.now
        let result: Result<StoreConnection<Reply>, StoreClientError>
        do {
            result = .success(try await connector(loop, configuration.connectTimeout))
        } catch let error as StoreClientError {
            result = .failure(error)
        } catch {
            result = .failure(StoreClientError(.connectFailed, "cannot connect to \(node): \(error)", underlying: error))
        }
        // `changed`: this attempt moved the node between reachable and unreachable (logged once
        // per change, not per attempt or per slot).
        let (waiters, closeNow, changed): ([CheckedContinuation<StoreConnection<Reply>, any Error>], Bool, Bool) = state.withLock { state in
            guard case .connecting(let waiters) = state.slots[index] else { return ([], true, false) }
            if state.shutDown {
                state.slots[index] = .idle
                return (waiters, true, false)
            }
            let changed: Bool
            switch result {
            case .success(let connection):
                changed = state.failures > 0
                state.failures = 0
                state.slots[index] = .connected(connection)
            case .failure(let error):
                state.failures += 1
                changed = state.failures == 1
                let wait = configuration.backoff(afterFailures: state.failures)
                state.slots[index] = .down(until: .now + wait, failures: state.failures, error: error)
            }
            return (waiters, false, changed)
        }
        switch result {
        case .success(let connection):
            if closeNow {
                connection.channel.close(promise: nil)
                let error = StoreClientError(.shutDown, "store for \(node) is shut down")
                for waiter in waiters { waiter.resume(throwing: error) }
                throw error
            }
            if let observer = reachability.withLock({ $0 }) {
                observer.reachable(attemptStartedAt: attemptStart)
                logger.debug("connected", metadata: ["sm.node": "\(node)"])
            } else if changed {
                logger.notice("store node reachable again", metadata: ["sm.node": "\(node)"])
            } else {
                logger.debug("connected", metadata: ["sm.node": "\(node)"])
            }
            connection.channel.closeFuture.whenComplete { [weak self] _ in self?.closed(index, connection.channel) }
            for waiter in waiters { waiter.resume(returning: connection) }
            return connection
        case .failure(let error):
            if let observer = reachability.withLock({ $0 }) {
                observer.unreachable(error)
                logger.debug("connection attempt failed", metadata: ["sm.node": "\(node)", "sm.error": "\(error)"])
            } else if changed {
                logger.warning("store node unreachable", metadata: ["sm.node": "\(node)", "sm.error": "\(error)"])
            } else {
                logger.debug("store node still unreachable", metadata: ["sm.node": "\(node)", "sm.error": "\(error)"])
            }
            for waiter in waiters { waiter.resume(throwing: error) }
            throw error
        }
    }

    /// A connection closed (server gone, timeout, shutdown): its slot reconnects on next use.
    private func closed(_ index: Int, _ channel: any Channel) {
        state.withLock { state in
            if case .connected(let connection) = state.slots[index], connection.channel === channel {
                state.slots[index] = .idle
            }
        }
    }

    /// Ends the backoff of every slot that is down: the next command tries to connect at once.
    /// For a probe that must know whether the node is back now (the manager's probe of a down
    /// node, and the last resort before a request fails because no other node seems up): a
    /// node that restarted is otherwise seen again only after the backoff, up to
    /// ``StoreClientConfiguration/maximumBackoff`` later.
    package func retryNow() {
        let now = ContinuousClock.now
        state.withLock { state in
            for index in state.slots.indices {
                if case .down(let until, let failures, let error) = state.slots[index], until > now {
                    state.slots[index] = .down(until: now, failures: failures, error: error)
                }
            }
        }
    }

    /// Closes every connection; later commands fail with ``StoreClientError/Code/shutDown``.
    package func shutdown() async {
        let channels: [any Channel] = state.withLock { state in
            state.shutDown = true
            return state.slots.compactMap { slot in
                if case .connected(let connection) = slot { return connection.channel }
                return nil
            }
        }
        for channel in channels { try? await channel.close() }
    }

    /// Opens one connection at start, so that what can never work (credentials or a database the
    /// server refuses, TLS files that cannot be loaded) stops the service with its error, while a
    /// server that cannot be reached is only logged (it may come up later); then ``run()``.
    /// - Parameter server: the server's kind, for the log (`Redis`, `memcached`).
    package func runAfterCheckingAtStart(server: String) async throws {
        do {
            _ = try await connection()
        } catch let error as StoreClientError where error.failureKind == .refused {
            throw error
        } catch {
            logger.warning("\(server) not reachable at start; commands fail until it is", metadata: ["sm.node": "\(node)", "sm.error": "\(error)"])
        }
        try await run()
    }

    /// Runs until cancelled, then closes the connections.
    ///
    /// Not until graceful shutdown: the requests still running then (and, in sticky mode, the
    /// session writes after their responses) need the connections. The ``SessionManager`` that
    /// runs the store cancels it once its own work is done.
    package func run() async throws {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        await shutdown()
    }
}
