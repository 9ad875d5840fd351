import NIOCore

/// Matches replies to commands on one pipelined connection, first in, first out, enforces each
/// command's deadline, and coalesces writes.
///
/// **Automatic pipelining.** A command is written to the channel but not flushed: the first
/// command of an event-loop tick schedules one flush after the tasks already queued on the loop,
/// so every command that requests running in that tick issue goes out in one `writev`, and their
/// replies usually come back in one read. A flush also happens at once when ``flushBudget`` bytes
/// are waiting. Commands are never reordered and never wait longer than the current tick.
///
/// **Deadlines.** When a command's deadline passes, it fails with
/// ``StoreClientError/Code/timeout`` and the **connection is closed**: the late reply, if it ever
/// comes, arrives on a dead socket and can never be matched to a later command. Every other command
/// still waiting fails with ``StoreClientError/Code/connectionClosed``. One timer per connection
/// (not per command) watches the earliest deadline: commands of one connection share the
/// operation timeout, so their deadlines grow in sending order, and a reply costs no timer work.
/// A reply with no command waiting for it is a protocol error and closes the connection too.
///
/// **Two ways in.** ``StoreConnection`` calls ``send(_:deadline:continuation:)`` directly on the
/// channel's event loop: the caller's continuation waits in the queue and is resumed with the
/// reply, with no promise, future, callback or trip through the pipeline per command (on two cores
/// that bookkeeping was a visible share of a store round trip). A ``PendingCommand`` written into
/// the pipeline (from another thread, or in tests) takes the same queue.
package final class PipelineHandler<Reply: Sendable>: ChannelDuplexHandler {
    package typealias InboundIn = Reply
    package typealias OutboundIn = PendingCommand<Reply>
    package typealias OutboundOut = ByteBuffer

    /// Bytes written and not flushed after which the handler flushes without waiting for the end
    /// of the tick (a burst of large sessions should not sit in memory).
    package static var flushBudget: Int { 64 * 1024 }

    /// Who receives a reply.
    private enum Completion {
        case promise(EventLoopPromise<Reply>)
        case continuation(UnsafeContinuation<Reply, any Error>)

        func succeed(_ reply: Reply) {
            switch self {
            case .promise(let promise): promise.succeed(reply)
            case .continuation(let continuation): continuation.resume(returning: reply)
            }
        }

        func fail(_ error: StoreClientError) {
            switch self {
            case .promise(let promise): promise.fail(error)
            case .continuation(let continuation): continuation.resume(throwing: error)
            }
        }
    }

    private struct Waiting {
        let completion: Completion
        let deadline: NIODeadline
    }

    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    private var closed = false
    /// The error that closed the connection (a TLS handshake's), given as the cause of the
    /// failures of commands sent after it closed.
    private var closeReason: (any Error)?
    private var unflushedBytes = 0
    private var flushScheduled = false
    private var timer: Scheduled<Void>?
    /// When ``timer`` fires.
    private var timerDeadline: NIODeadline?

    /// The handler's context while it is in a pipeline (for ``send(_:deadline:continuation:)``).
    private var context: ChannelHandlerContext?

    /// Whether the commands of a tick are joined into one buffer, written at the flush.
    ///
    /// Under TLS every write becomes a record of its own (sealed, framed and copied by the TLS
    /// handler on its own), so the commands of a tick are joined first: one record per flush
    /// instead of one per command, for the cost of copying a few hundred bytes that TLS copies
    /// anyway. Plaintext connections keep writing each command's buffer as it is (no copy).
    private let joinsWrites: Bool
    /// The joined commands not yet written (``joinsWrites`` only).
    private var joined: ByteBuffer?

    /// Receives replies that answer no command (a subscribed Redis connection's messages); `nil`:
    /// such a reply is a protocol error and closes the connection.
    package var unsolicited: (@Sendable (Reply) -> Void)?

    /// Creates the handler; `joinsWrites` for a connection whose writes are encrypted (TLS).
    package init(joinsWrites: Bool = false) {
        self.joinsWrites = joinsWrites
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        closed = true
        failWaiting(StoreClientError(.connectionClosed, "connection closed"))
    }

    /// Queues one command and writes it (flushed at the end of the tick): `continuation` is
    /// resumed with its reply, or with a ``StoreClientError``. Call on the channel's event loop.
    package func send(_ bytes: ByteBuffer, deadline: NIODeadline, continuation: UnsafeContinuation<Reply, any Error>) {
        guard let context else {
            continuation.resume(throwing: StoreClientError(.connectionClosed, "connection is closed", underlying: closeReason))
            return
        }
        enqueue(bytes, Waiting(completion: .continuation(continuation), deadline: deadline), promise: nil, context: context)
    }

    /// As ``send(_:deadline:continuation:)``, with a promise for the reply (the earlier commands of a
    /// batch, see ``StoreConnection/send(_:timeout:)``).
    package func send(_ bytes: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<Reply>) {
        guard let context else {
            promise.fail(StoreClientError(.connectionClosed, "connection is closed", underlying: closeReason))
            return
        }
        enqueue(bytes, Waiting(completion: .promise(promise), deadline: deadline), promise: nil, context: context)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        enqueue(command.bytes, Waiting(completion: .promise(command.promise), deadline: command.deadline), promise: promise, context: context)
    }

    private func enqueue(_ bytes: ByteBuffer, _ command: Waiting, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard !closed else {
            command.completion.fail(StoreClientError(.connectionClosed, "connection is closed", underlying: closeReason))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        waiting.append(command)
        if timerDeadline.map({ command.deadline < $0 }) ?? true { armTimer(at: command.deadline, context: context) }
        unflushedBytes += bytes.readableBytes
        if joinsWrites, promise == nil {
            if var buffer = joined {
                joined = nil
                buffer.writeImmutableBuffer(bytes)
                joined = buffer
            } else {
                joined = bytes
            }
        } else {
            writeJoined(context: context)
            context.write(wrapOutboundOut(bytes), promise: promise)
        }
        if unflushedBytes >= Self.flushBudget {
            flush(context: context)
        } else if !flushScheduled {
            flushScheduled = true
            context.eventLoop.assumeIsolated().execute { [self] in
                flushScheduled = false
                if unflushedBytes > 0 { flush(context: context) }
            }
        }
    }

    package func flush(context: ChannelHandlerContext) {
        unflushedBytes = 0
        writeJoined(context: context)
        context.flush()
    }

    /// Passes the joined commands down, if any.
    private func writeJoined(context: ChannelHandlerContext) {
        guard let buffer = joined else { return }
        joined = nil
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let first = waiting.popFirst() else {
            if let unsolicited {
                unsolicited(reply)
                return
            }
            failAll(StoreClientError(.protocolError, "reply without a command"), context: context)
            return
        }
        first.completion.succeed(reply)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closeReason == nil { closeReason = error }
        let failure = error as? StoreClientError ?? StoreClientError(.connectionClosed, "connection failed: \(error)", underlying: error)
        failAll(failure, context: context)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        closed = true
        failWaiting(StoreClientError(.connectionClosed, "connection closed by the server"))
        context.fireChannelInactive()
    }

    // MARK: deadlines

    private func armTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            deadlineReached(context: context)
        }
    }

    /// Fails the commands whose deadline passed, if any (and closes the connection); otherwise
    /// sets the timer for the earliest deadline still waiting.
    private func deadlineReached(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        // The last expired command: it and everything sent before it time out.
        var lastExpired: Int?
        var earliest: NIODeadline?
        for (offset, command) in waiting.enumerated() {
            if command.deadline <= now {
                lastExpired = offset
            } else if earliest.map({ command.deadline < $0 }) ?? true {
                earliest = command.deadline
            }
        }
        guard let lastExpired else {
            if let earliest { armTimer(at: earliest, context: context) }
            return
        }
        failAll(
            StoreClientError(.connectionClosed, "connection closed after another command timed out"),
            timingOut: lastExpired + 1,
            context: context
        )
    }

    /// Closes the connection, then fails the first `timingOut` waiting commands with
    /// ``StoreClientError/Code/timeout`` and the others with `error`. Closed first: a caller
    /// resumed here may send its next command at once, from another thread, and must not find
    /// this connection still active in the pool.
    private func failAll(_ error: StoreClientError, timingOut: Int = 0, context: ChannelHandlerContext) {
        closed = true
        let failing = takeWaiting()
        context.close(promise: nil)
        for (offset, command) in failing.enumerated() {
            command.completion.fail(offset < timingOut ? StoreClientError(.timeout, "no reply within the operation timeout") : error)
        }
    }

    private func failWaiting(_ error: StoreClientError) {
        for command in takeWaiting() { command.completion.fail(error) }
    }

    /// Empties the queue of waiting commands and stops the deadline timer; returns the commands.
    private func takeWaiting() -> CircularBuffer<Waiting> {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        defer { waiting.removeAll() }
        return waiting
    }
}

@available(*, unavailable)
extension PipelineHandler: Sendable {}
