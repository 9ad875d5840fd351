import NIOCore
import NIOHTTP1

/// Carries out ``HTTPConnectionStateMachine`` between the HTTP codec and the request loop: answers
/// the requests and errors the machine refuses (each with a short body, then closes), sends
/// `100 Continue`, adds `Connection: close` when the connection will close, closes it after the
/// response (see ``LingeringCloseHandler``), and runs the one timer that enforces the request deadline.
///
/// One timer per connection, set for the current deadline: a new request moves the deadline
/// later without touching the timer; when it fires early it is set again. A request therefore
/// costs no timer operation.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var machine: HTTPConnectionStateMachine
    private var timer: Scheduled<Void>?

    /// A handler for a connection accepted just now (its first request deadline starts now).
    init(limits: HTTPConnectionStateMachine.Limits) {
        self.machine = HTTPConnectionStateMachine(limits: limits, now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armTimer(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            switch machine.requestHead(head) {
            case .forward(let sendContinue):
                if sendContinue {
                    let interim = HTTPResponseHead(version: head.version, status: .continue)
                    context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
                }
                context.fireChannelRead(data)
            case .refuse(let refusal):
                refuse(refusal, version: head.version, context: context)
            case .drop:
                break
            }
        case .body(let part):
            switch machine.requestBody(bytes: part.readableBytes) {
            case .forward: context.fireChannelRead(data)
            case .refuse(let refusal): refuse(refusal, version: .http1_1, context: context)
            case .drop: break
            }
        case .end:
            if machine.requestEnd() { context.fireChannelRead(data) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is ByteToMessageDecoderError || error is ByteToMessageDecoderError.PayloadTooLargeError else {
            // Not a malformed request but a failed connection (a reset by the client, between two
            // requests as much as during one): nobody to answer. Writing a 400 there reached NIO's
            // pipeline handler with no request in flight, which traps.
            context.close(promise: nil)
            return
        }
        switch machine.decodingError(error) {
        case .refuse(let refusal):
            refuse(refusal, version: .http1_1, context: context)
        case .ignore:
            // A response is under way (the connection closes after it) or the connection is
            // closing already: one answer per connection, never a second 400.
            break
        }
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            if machine.responseHead(head) {
                head.headers.replaceOrAdd(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
            context.write(data, promise: promise)
        case .end:
            switch machine.responseEnd(now: .now()) {
            case .keepOpen:
                context.write(data, promise: promise)
                armTimer(context: context)
            case .close:
                writeThenClose(data, promise: promise, context: context)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    // MARK: actions

    /// Writes a short answer for a refused request or a failed decode, then closes.
    private func refuse(_ refusal: HTTPConnectionStateMachine.Refusal, version: HTTPVersion, context: ChannelHandlerContext) {
        let body = context.channel.allocator.buffer(string: refusal.text)
        let head = HTTPResponseHead(
            version: version.major == 1 ? version : .http1_1,
            status: refusal.status,
            headers: [
                "Connection": "close", "Content-Length": "\(body.readableBytes)",
                "Content-Type": "text/plain; charset=utf-8",
            ]
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        writeThenClose(wrapOutboundOut(.end(nil)), promise: nil, context: context)
    }

    private func writeThenClose(_ data: NIOAny, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success: LingeringCloseHandler.close(context)
            case .failure: context.close(promise: nil)
            }
        }
        context.writeAndFlush(data, promise: written)
    }

    /// Sets the timer for the current deadline unless one is set already (it then re-checks when it fires).
    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let deadline = machine.deadline else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            self.deadlineReached(context: context)
        }
    }

    private func deadlineReached(context: ChannelHandlerContext) {
        switch machine.deadlinePassed(now: .now()) {
        case .none:
            armTimer(context: context)
        case .close:
            context.close(promise: nil)
        case .refuse(let refusal):
            refuse(refusal, version: .http1_1, context: context)
        }
    }
}
