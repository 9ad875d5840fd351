import NIOCore

/// One open connection to a store node, with a ``PipelineHandler`` at the end of its pipeline.
package struct StoreConnection<Reply: Sendable>: Sendable {
    /// The channel.
    package let channel: any Channel
    private let handler: NIOLoopBound<PipelineHandler<Reply>>

    /// Wraps a channel whose pipeline ends in `handler`. Call on the channel's event loop (in its
    /// initializer), as the handler may only be touched there.
    package init(channel: any Channel, handler: PipelineHandler<Reply>) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// Hands the replies that answer no command to `receive` from now on (a subscribed Redis
    /// connection), instead of closing the connection over them.
    package func receiveUnsolicited(_ receive: @escaping @Sendable (Reply) -> Void) async {
        let handler = self.handler
        try? await channel.eventLoop.submit { handler.value.unsolicited = receive }.get()
    }

    /// Sends one command and waits for its reply, at most `timeout`.
    ///
    /// On the channel's event loop (a request of the bundled server, which runs on its connection's
    /// loop and uses that loop's store connection) the command goes straight to the handler;
    /// elsewhere it hops to the loop first. Not flushed here: the handler flushes once per
    /// event-loop tick for all the commands written in it (automatic pipelining).
    package func send(_ bytes: ByteBuffer, timeout: Duration) async throws -> Reply {
        let eventLoop = channel.eventLoop
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let handler = self.handler
        if eventLoop.inEventLoop {
            return try await withUnsafeThrowingContinuation { continuation in
                handler.value.send(bytes, deadline: deadline, continuation: continuation)
            }
        }
        return try await withUnsafeThrowingContinuation { continuation in
            eventLoop.execute { handler.value.send(bytes, deadline: deadline, continuation: continuation) }
        }
    }

    /// Sends commands back to back on this connection, in one write, and waits for every reply (in
    /// order): the server runs them in order, with nothing of another connection's in between for
    /// a command that, like Redis `WAIT`, concerns the connection's own earlier writes.
    /// - Precondition: `commands` is not empty.
    package func send(_ commands: [ByteBuffer], timeout: Duration) async throws -> [Reply] {
        precondition(!commands.isEmpty, "nothing to send")
        let eventLoop = channel.eventLoop
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let handler = self.handler
        let earlier = commands.dropLast().map { _ in eventLoop.makePromise(of: Reply.self) }
        // The handler completes every command it queued (a reply, a timeout or a closed
        // connection), so the earlier promises are fulfilled even when the last reply throws.
        let last = try await withUnsafeThrowingContinuation { continuation in
            let enqueueAll: @Sendable () -> Void = {
                for (command, promise) in zip(commands, earlier) {
                    handler.value.send(command, deadline: deadline, promise: promise)
                }
                handler.value.send(commands[commands.count - 1], deadline: deadline, continuation: continuation)
            }
            if eventLoop.inEventLoop { enqueueAll() } else { eventLoop.execute(enqueueAll) }
        }
        var replies: [Reply] = []
        replies.reserveCapacity(commands.count)
        for promise in earlier { replies.append(try await promise.futureResult.get()) }
        replies.append(last)
        return replies
    }
}
