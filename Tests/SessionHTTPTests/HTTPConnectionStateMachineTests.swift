import NIOCore
import NIOHTTP1
import SessionTesting
import Testing

@testable import SessionHTTP

/// The connection rules without sockets or timers: each event and what the machine answers.
@Suite(.capturedLog) struct HTTPConnectionStateMachineTests {
    static let limits = HTTPConnectionStateMachine.Limits(maxHeaderSize: 1024, maxBodySize: 100, requestTimeout: .seconds(5))
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func head(_ method: HTTPMethod = .GET, _ uri: String = "/myapp/x", version: HTTPVersion = .http1_1, _ headers: [(String, String)] = [("Host", "x")]) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    func machine() -> HTTPConnectionStateMachine { HTTPConnectionStateMachine(limits: Self.limits, now: Self.start) }

    @Test func aKeepAliveRequestCycleMovesTheDeadlineAfterTheResponse() {
        var machine = machine()
        #expect(machine.deadline == Self.start + .seconds(5))
        let r1 = machine.requestHead(head())
        #expect(r1 == .forward(sendContinue: false))
        #expect(machine.deadline == Self.start + .seconds(5), "the head does not extend the deadline")
        let r2 = machine.requestEnd()
        #expect(r2)
        #expect(machine.deadline == nil, "no deadline while the app answers")
        let keep = machine.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        #expect(!keep)
        let later = Self.start + .seconds(60)
        let r3 = machine.responseEnd(now: later)
        #expect(r3 == .keepOpen)
        #expect(machine.deadline == later + .seconds(5))
    }

    @Test func refusals() {
        let cases: [(HTTPRequestHead, HTTPConnectionStateMachine.Refusal)] = [
            (head(.CONNECT, "example.com:443"), .methodNotImplemented),
            (head(.GET, "/", []), .badRequest("HTTP/1.1 requires a Host header")),
            (head(.GET, "/", [("Host", "a"), ("Host", "b")]), .badRequest("more than one Host header")),
            (head(.POST, "/", [("Host", "a"), ("Content-Length", "101")]), .payloadTooLarge),
            (head(.POST, "/", [("Host", "a"), ("Expect", "something-else")]), .expectationFailed),
            (head(.GET, "/", [("Host", "a"), ("X", String(repeating: "v", count: 1000))]), .headerTooLarge),
            (head(.POST, "/", [("Host", "a"), ("Transfer-Encoding", "gzip, chunked")]), .transferCodingNotImplemented),
            (head(.POST, "/", [("Host", "a"), ("Transfer-Encoding", "identity")]), .transferCodingNotImplemented),
        ]
        for (head, refusal) in cases {
            var machine = machine()
            let r4 = machine.requestHead(head)
            #expect(r4 == .refuse(refusal), "\(head)")
            #expect(machine.isClosing)
            let r5 = machine.requestBody(bytes: 1)
            #expect(r5 == .drop)
            let r6 = machine.requestEnd()
            #expect(r6 == false, "nothing of a refused request reaches the app")
            let r7 = machine.decodingError(HTTPParserError.closedConnection)
            #expect(r7 == .ignore, "one answer only")
        }
    }

    @Test func chunkedInAnyCaseIsTheOneTransferCodingAccepted() {
        for coding in ["chunked", "Chunked", " CHUNKED "] {
            var machine = machine()
            let r = machine.requestHead(head(.POST, "/", [("Host", "a"), ("Transfer-Encoding", coding)]))
            #expect(r == .forward(sendContinue: false), "\(coding)")
        }
    }

    @Test func aBodyGrowingPastTheLimitIsRefused() {
        var machine = machine()
        _ = machine.requestHead(head(.POST, "/", [("Host", "a"), ("Transfer-Encoding", "chunked")]))
        let first = machine.requestBody(bytes: 60)
        #expect(first == .forward)
        let second = machine.requestBody(bytes: 41)
        #expect(second == .refuse(.payloadTooLarge), "101 bytes with a limit of 100")
        let end = machine.requestEnd()
        #expect(end == false, "the app never sees the end of a refused body")
    }

    @Test func http10WithoutHostIsServedAndClosed() {
        var machine = machine()
        let r8 = machine.requestHead(head(.GET, "/", version: .http1_0, []))
        #expect(r8 == .forward(sendContinue: false))
        let r9 = machine.requestEnd()
        #expect(r9)
        let r10 = machine.responseHead(HTTPResponseHead(version: .http1_0, status: .ok))
        #expect(r10, "HTTP/1.0 without keep-alive closes")
        let r11 = machine.responseEnd(now: Self.start)
        #expect(r11 == .close)
    }

    @Test func headerSizeCountsLineEndsAndSeparators() {
        // 300 empty headers: 300 bytes of names, 1200 bytes on the wire.
        let headers = [("Host", "x")] + (0..<300).map { _ in ("a", "") }
        #expect(HTTPConnectionStateMachine.HeadFacts(head(.GET, "/", headers)).wireSize > 1200)
        var machine = machine()
        let r12 = machine.requestHead(head(.GET, "/", headers))
        #expect(r12 == .refuse(.headerTooLarge))
    }

    @Test func expectContinueIsAnsweredOnlyForHTTP11() {
        var machine = machine()
        let r13 = machine.requestHead(head(.POST, "/", [("Host", "a"), ("Expect", "100-Continue"), ("Content-Length", "10")]))
        #expect(r13 == .forward(sendContinue: true))
        var old = self.machine()
        let r14 = old.requestHead(head(.POST, "/", version: .http1_0, [("Expect", "100-continue"), ("Content-Length", "10")]))
        #expect(r14 == .forward(sendContinue: false))
    }

    @Test func upgradeRequestsAreServedThenTheConnectionCloses() {
        var machine = machine()
        let r15 = machine.requestHead(head(.GET, "/", [("Host", "a"), ("Connection", "Upgrade"), ("Upgrade", "websocket")]))
        #expect(r15 == .forward(sendContinue: false))
        let r16 = machine.requestEnd()
        #expect(r16)
        let r17 = machine.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        #expect(r17, "the answer says Connection: close")
        let r18 = machine.responseEnd(now: Self.start)
        #expect(r18 == .close)
        let r19 = machine.requestHead(head())
        #expect(r19 == .drop)
    }

    @Test func deadlines() {
        var idle = machine()
        let r20 = idle.deadlinePassed(now: Self.start + .seconds(4))
        #expect(r20 == .none)
        let r21 = idle.deadlinePassed(now: Self.start + .seconds(5))
        #expect(r21 == .close, "a late head or idle connection: closed without an answer")

        var body = machine()
        _ = body.requestHead(head(.POST, "/", [("Host", "a"), ("Content-Length", "10")]))
        let r22 = body.requestBody(bytes: 10)
        #expect(r22 == .forward)
        let r23 = body.deadlinePassed(now: Self.start + .seconds(5))
        #expect(r23 == .refuse(.requestTimeout))
        let r24 = body.requestEnd()
        #expect(r24 == false)

        var busy = machine()
        _ = busy.requestHead(head())
        _ = busy.requestEnd()
        let r25 = busy.deadlinePassed(now: Self.start + .seconds(3600))
        #expect(r25 == .none, "the app may take its time")
    }

    @Test func decodingErrors() {
        var fresh = machine()
        let r26 = fresh.decodingError(HTTPParserError.invalidVersion)
        #expect(r26 == .refuse(.versionNotSupported))
        let r27 = fresh.decodingError(HTTPParserError.invalidVersion)
        #expect(r27 == .ignore)
        var big = machine()
        let r28 = big.decodingError(HTTPParserError.headerOverflow)
        #expect(r28 == .refuse(.headerTooLarge))
        var answering = machine()
        _ = answering.requestHead(head())
        _ = answering.requestEnd()
        let r29 = answering.decodingError(HTTPParserError.invalidChunkSize)
        #expect(r29 == .ignore)
        let r30 = answering.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        #expect(r30, "an error while answering closes after the answer")
        let r31 = answering.responseEnd(now: Self.start)
        #expect(r31 == .close)
    }
}
