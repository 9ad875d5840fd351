import NIOCore
import NIOHTTP1

/// The rules of one HTTP/1.1 connection that the codec does not enforce, as a pure state machine:
/// no I/O, no timers; the ``HTTPConnectionHandler`` feeds it events and carries out what it returns.
///
/// It decides:
/// - **which requests reach the app**: a head too large (request line + header lines, in bytes),
///   an HTTP/1.1 request without exactly one `Host`, `CONNECT`, a body over the limit (declared,
///   or growing past it in chunks) and an expectation other than `100-continue` are answered here
///   and the connection closes;
/// - **when the connection closes**: after a request that asked for it (`Connection: close`,
///   HTTP/1.0 without keep-alive), after any request with `Upgrade` (this server never switches
///   protocols, and the codec stops parsing after such a request, so what follows cannot be
///   served), after an answered protocol error, and when a deadline passes;
/// - **the request deadline**: from the moment the connection starts waiting for a request (it
///   opened, or the previous response was written) until that request's last byte arrived, at most
///   `requestTimeout`. Bytes trickling in do not extend it. A body that is late gets `408`; a head
///   that is late (or never started: an idle keep-alive connection) is closed without an answer;
/// - **one answer per failure**: once the connection is closing, input and further parser errors
///   are ignored (no second `400` for the bytes after a `Connection: close` request).
///
/// Requests arrive one at a time: `HTTPServerPipelineHandler` holds back a pipelined request until
/// the response before it is written.
struct HTTPConnectionStateMachine {
    /// The limits the machine applies.
    struct Limits {
        /// Largest request line + header lines, in bytes (``ConnectorConfiguration/maxHttpHeaderSize``).
        var maxHeaderSize: Int
        /// Largest body, declared or received (``ConnectorConfiguration/maxPostSize``).
        var maxBodySize: Int
        /// Longest wait for a whole request (``ConnectorConfiguration/connectionTimeout``).
        var requestTimeout: TimeAmount
    }

    /// A request answered here instead of by the app; the connection closes after the answer.
    enum Refusal: Equatable {
        case badRequest(String)
        case headerTooLarge
        case payloadTooLarge
        case expectationFailed
        case methodNotImplemented
        case transferCodingNotImplemented
        case versionNotSupported
        case requestTimeout

        var status: HTTPResponseStatus {
            switch self {
            case .badRequest: .badRequest
            case .headerTooLarge: .requestHeaderFieldsTooLarge
            case .payloadTooLarge: .payloadTooLarge
            case .expectationFailed: .expectationFailed
            case .methodNotImplemented, .transferCodingNotImplemented: .notImplemented
            case .versionNotSupported: .httpVersionNotSupported
            case .requestTimeout: .requestTimeout
            }
        }

        var text: String {
            switch self {
            case .badRequest(let reason): "bad request: \(reason)\n"
            case .headerTooLarge: "request header fields too large\n"
            case .payloadTooLarge: "payload too large\n"
            case .expectationFailed: "expectation failed: only 100-continue is supported\n"
            case .methodNotImplemented: "CONNECT is not supported: this is not a proxy\n"
            case .transferCodingNotImplemented: "only the chunked transfer coding is supported\n"
            case .versionNotSupported: "HTTP version not supported: use HTTP/1.1\n"
            case .requestTimeout: "request timeout: the request was not complete in time\n"
            }
        }
    }

    private enum State {
        /// No request yet, or its head is incomplete; it must be complete by `deadline`.
        case awaitingHead(deadline: NIODeadline)
        /// The head went to the app, the body is arriving (`received` bytes so far); it must be
        /// complete by `deadline`.
        case readingBody(deadline: NIODeadline, closeAfter: Bool, received: Int)
        /// The request is complete and the app answers it; no deadline.
        case responding(closeAfter: Bool)
        /// The connection ends: input is ignored, it closes once the answer (if any) is written.
        case closing
    }

    private var state: State
    let limits: Limits

    /// A connection that opened at `now`.
    init(limits: Limits, now: NIODeadline) {
        self.limits = limits
        self.state = .awaitingHead(deadline: now + limits.requestTimeout)
    }

    /// When the current request must be complete; `nil` while the app is answering or the connection closes.
    var deadline: NIODeadline? {
        switch state {
        case .awaitingHead(let deadline), .readingBody(let deadline, _, _): deadline
        case .responding, .closing: nil
        }
    }

    /// `true` once the connection only waits to be closed.
    var isClosing: Bool {
        if case .closing = state { true } else { false }
    }

    // MARK: requests

    /// What to do with a request head.
    enum HeadAction: Equatable {
        /// Pass it to the app; first send `100 Continue` when `sendContinue`.
        case forward(sendContinue: Bool)
        /// Answer it here and close.
        case refuse(Refusal)
        /// Drop it (the connection is closing).
        case drop
    }

    mutating func requestHead(_ head: HTTPRequestHead) -> HeadAction {
        guard case .awaitingHead(let deadline) = state else {
            // Closing (or a protocol violation the pipeline handler prevents): nothing more is served.
            state = .closing
            return .drop
        }
        let facts = HeadFacts(head)
        if let refusal = Self.refusal(for: head, facts, limits: limits) {
            state = .closing
            return .refuse(refusal)
        }
        let closeAfter = !head.isKeepAlive || facts.upgrade
        state = .readingBody(deadline: deadline, closeAfter: closeAfter, received: 0)
        // RFC 9110 §10.1.1: an HTTP/1.1 client waiting with `Expect: 100-continue` (HTTP/1.0
        // clients cannot send it) gets `100 Continue` now that the body will be read.
        return .forward(sendContinue: head.version.minor >= 1 && facts.expectation != nil)
    }

    /// What to do with a part of a request body.
    enum BodyAction: Equatable {
        /// Pass it to the app.
        case forward
        /// The body grew past the limit: answer `413` and close.
        case refuse(Refusal)
        /// Drop it (the request was refused, or the connection is closing).
        case drop
    }

    mutating func requestBody(bytes: Int) -> BodyAction {
        guard case .readingBody(let deadline, let closeAfter, let received) = state else { return .drop }
        guard received + bytes <= limits.maxBodySize else {
            state = .closing
            return .refuse(.payloadTooLarge)
        }
        state = .readingBody(deadline: deadline, closeAfter: closeAfter, received: received + bytes)
        return .forward
    }

    /// `true` when the request end goes to the app.
    mutating func requestEnd() -> Bool {
        guard case .readingBody(_, let closeAfter, _) = state else { return false }
        state = .responding(closeAfter: closeAfter)
        return true
    }

    // MARK: responses

    /// A final response head is written; returns `true` when it must carry `Connection: close`.
    mutating func responseHead(_ head: HTTPResponseHead) -> Bool {
        switch state {
        case .responding(let closeAfter):
            let close = closeAfter || Self.saysClose(head)
            state = .responding(closeAfter: close)
            return close
        case .closing:
            return true
        case .awaitingHead, .readingBody:
            // An answer before the whole request was read (the server never sends one): the rest
            // of the request would be taken for the next one, so the connection closes.
            state = .closing
            return true
        }
    }

    /// What to do after a response's end is written.
    enum ResponseEndAction: Equatable {
        /// Keep the connection for the next request.
        case keepOpen
        /// Close it once the response is flushed.
        case close
    }

    mutating func responseEnd(now: NIODeadline) -> ResponseEndAction {
        if case .responding(closeAfter: false) = state {
            state = .awaitingHead(deadline: now + limits.requestTimeout)
            return .keepOpen
        }
        state = .closing
        return .close
    }

    // MARK: errors and time

    /// What to do with a decoding error.
    enum ErrorAction: Equatable {
        /// Answer it and close.
        case refuse(Refusal)
        /// Say nothing: a response is under way or the connection is already closing (it closes after it).
        case ignore
    }

    mutating func decodingError(_ error: any Error) -> ErrorAction {
        switch state {
        case .awaitingHead, .readingBody:
            state = .closing
            return .refuse(Self.refusal(for: error))
        case .responding:
            state = .responding(closeAfter: true)
            return .ignore
        case .closing:
            return .ignore
        }
    }

    /// What to do when the timer fires.
    enum DeadlineAction: Equatable {
        /// Nothing due; the timer is set again for the current deadline, if any.
        case none
        /// The head did not arrive in time (or the connection sat idle): close without an answer.
        case close
        /// The body did not arrive in time: answer `408` and close.
        case refuse(Refusal)
    }

    mutating func deadlinePassed(now: NIODeadline) -> DeadlineAction {
        switch state {
        case .awaitingHead(let deadline) where deadline <= now:
            state = .closing
            return .close
        case .readingBody(let deadline, _, _) where deadline <= now:
            state = .closing
            return .refuse(.requestTimeout)
        default:
            return .none
        }
    }

    // MARK: rules

    /// What the rules need from a head, read in one pass over its headers (this runs for every
    /// request: no allocation, one length comparison per header in the common case).
    struct HeadFacts {
        /// The bytes the head took on the wire at least: request line and header lines with their
        /// line ends and the empty line. (Optional whitespace around header values is not
        /// counted: the codec drops it, and it never reaches memory.)
        var wireSize: Int
        var hostCount = 0
        /// The largest `Content-Length` (the codec refuses differing ones).
        var declaredLength: Int?
        /// The first `Expect` value.
        var expectation: Substring?
        var upgrade = false
        /// A `Transfer-Encoding` other than exactly `chunked` (codings this server cannot decode).
        var unsupportedTransferCoding = false

        init(_ head: HTTPRequestHead) {
            // "METHOD SP target SP HTTP/1.1 CRLF" ... "CRLF"
            wireSize = head.method.rawValue.utf8.count + 1 + head.uri.utf8.count + 1 + 8 + 2 + 2
            for (name, value) in head.headers {
                wireSize += name.utf8.count + 1 + value.utf8.count + 2
                switch name.utf8.count {
                case 4 where name.equalsIgnoringASCIICase("host"): hostCount += 1
                case 6 where name.equalsIgnoringASCIICase("expect"): expectation = expectation ?? Substring(value)
                case 7 where name.equalsIgnoringASCIICase("upgrade"): upgrade = true
                case 14 where name.equalsIgnoringASCIICase("content-length"):
                    if let length = Int(value) { declaredLength = max(declaredLength ?? 0, length) }
                case 17 where name.equalsIgnoringASCIICase("transfer-encoding"):
                    // Rare: the allocation of the filtered copy does not matter.
                    if !value.filter({ $0 != " " && $0 != "\t" }).equalsIgnoringASCIICase("chunked") {
                        unsupportedTransferCoding = true
                    }
                default: break
                }
            }
        }
    }

    /// `true` when a response head carries `Connection: close` (or is HTTP/1.0 without
    /// `keep-alive`). Unlike `HTTPResponseHead.isKeepAlive`, which builds an array of the
    /// `Connection` tokens for a head it did not parse, this allocates nothing.
    static func saysClose(_ head: HTTPResponseHead) -> Bool {
        var close = false
        var keepAlive = false
        for (name, value) in head.headers where name.equalsIgnoringASCIICase("connection") {
            let lowered = value.lowercased()
            close = close || lowered.contains("close")
            keepAlive = keepAlive || lowered.contains("keep-alive")
        }
        return close || (head.version.minor == 0 && !keepAlive)
    }

    private static func refusal(for head: HTTPRequestHead, _ facts: HeadFacts, limits: Limits) -> Refusal? {
        if facts.wireSize > limits.maxHeaderSize { return .headerTooLarge }
        if head.method == .CONNECT { return .methodNotImplemented }
        // RFC 9112 §6.1: a transfer coding the server does not understand gets 501 (and the
        // connection closes, so bytes after such a body are never read as a request).
        if facts.unsupportedTransferCoding { return .transferCodingNotImplemented }
        if head.version.major == 1, head.version.minor >= 1 {
            // RFC 9112 §3.2: exactly one Host in every HTTP/1.1 request.
            switch facts.hostCount {
            case 0: return .badRequest("HTTP/1.1 requires a Host header")
            case 1: break
            default: return .badRequest("more than one Host header")
            }
        }
        if let length = facts.declaredLength, length > limits.maxBodySize { return .payloadTooLarge }
        if head.version.minor >= 1, let expectation = facts.expectation, expectation.lowercased() != "100-continue" {
            return .expectationFailed
        }
        return nil
    }

    private static func refusal(for error: any Error) -> Refusal {
        switch error {
        case let parserError as HTTPParserError where parserError == .headerOverflow: .headerTooLarge
        case let parserError as HTTPParserError where parserError == .invalidVersion: .versionNotSupported
        case is ByteToMessageDecoderError.PayloadTooLargeError: .headerTooLarge
        default: .badRequest("malformed request")
        }
    }
}
