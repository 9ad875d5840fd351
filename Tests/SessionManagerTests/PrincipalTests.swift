import Foundation
import Logging
@testable import SessionManager
import SessionTesting
import Testing

/// A session's principal: logging in changes the id in the same step, the principal and login
/// time are stored with the session (as reserved attributes of the unchanged format version 1)
/// and read back by any node, and logging out or invalidating removes them.
@Suite(.capturedLog) struct PrincipalTests {
    struct Missing: Error {}

    static func adapter(_ kind: TranscoderKinds = .binary) throws -> SessionHTTPAdapter {
        var configuration = ManagerConfiguration()
        configuration.transcoder = kind.transcoder
        let manager = SessionManager(configuration: configuration, store: MemorySessionStore(), logger: Logger(label: "test"))
        return SessionHTTPAdapter(manager: manager, contextPath: "/")
    }

    /// One request; the id its response announces (the cookie's value), if any.
    static func request(_ adapter: SessionHTTPAdapter, cookie: String? = nil, _ handler: (RequestSessions) async throws -> Void) async throws -> String? {
        let exchange = adapter.beginRequest(method: "GET", path: "/", query: nil, cookieHeaders: cookie.map { ["JSESSIONID=\($0)"] } ?? [])
        try await handler(exchange.sessions)
        let outcome = await exchange.complete()
        await exchange.afterResponse()
        return outcome.setCookie.map { String($0.dropFirst("JSESSIONID=".count).prefix { $0 != ";" }) }
    }

    @Test(arguments: TranscoderKinds.all)
    func logInChangesTheIdAndThePrincipalIsStoredWithTheSession(transcoder: TranscoderKinds) async throws {
        let adapter = try Self.adapter(transcoder)
        let anonymous = try #require(try await Self.request(adapter) { try await $0.session().set("cart", 2) })
        let before = Date()
        let announced = try await Self.request(adapter, cookie: anonymous) { sessions in
            guard let session = try await sessions.existingSession() else { throw Missing() }
            #expect(session.principal == nil)
            let old = session.id
            let new = try await session.logIn(principal: "alice@example.com")
            #expect(new != old && new.description != anonymous, "a new id in the same step")
        }
        let loggedIn = try #require(announced)
        #expect(loggedIn != anonymous)
        _ = try await Self.request(adapter, cookie: loggedIn) { sessions in
            guard let session = try await sessions.existingSession() else { throw Missing() }  // goes on under its new id
            #expect(session.principal == "alice@example.com")
            #expect(session.get("cart", as: Int.self) == 2)
            #expect(!session.attributeNames.contains { $0.hasPrefix("sm:") }, "reserved attributes are not the app's")
            #expect(session.loginTime.map { abs($0.timeIntervalSince(before)) < 5 } == true)
        }
        _ = try await Self.request(adapter, cookie: anonymous) { sessions in
            let gone = try await sessions.existingSession()
            #expect(gone == nil, "the id known before the login is gone")
        }
        _ = try await Self.request(adapter, cookie: loggedIn) { sessions in
            guard let session = try await sessions.existingSession() else { throw Missing() }
            session.logOut()
        }
        _ = try await Self.request(adapter, cookie: loggedIn) { sessions in
            guard let session = try await sessions.existingSession() else { throw Missing() }
            #expect(session.principal == nil && session.loginTime == nil, "logged out, the session goes on")
            #expect(session.get("cart", as: Int.self) == 2)
        }
    }

    @Test func invalidateRemovesThePrincipal() async throws {
        let session = try Self.adapter().manager.makeSession()
        try await session.logIn(principal: "bob")
        session.invalidate()
        #expect(session.principal == nil && session.loginTime == nil)
    }

    /// A session stored by the previous release (no reserved attributes) reads with no principal;
    /// a session stored now reads in the previous release's decoders (the same format version 1:
    /// the principal is an attribute there, kept and written back as it is).
    @Test(arguments: TranscoderKinds.all)
    func theFormatStaysVersion1BothWays(kind: TranscoderKinds) throws {
        let transcoder = kind.transcoder
        let created = Date(timeIntervalSinceReferenceDate: 817_879_528.375)
        let today = SessionSnapshot(id: "A1-n1", creationTime: created, lastAccessedTime: created, maxInactiveInterval: 1800, attributes: ["count": 3])
        let old = ReservedAttributes.split(try transcoder.decode(try transcoder.encode(today)).attributes)
        #expect(old == ReservedAttributes.Split(attributes: ["count": 3], principal: nil, loginTime: nil))

        let login = Date(timeIntervalSince1970: 1_796_000_000.123)
        var new = today
        new.attributes = ReservedAttributes.merge(["count": 3], principal: "alice", loginTime: login)
        let bytes = try transcoder.encode(new)
        let previousRelease = try transcoder.decode(bytes)
        #expect(previousRelease.attributes["sm:principal"] == "alice", "an ordinary attribute to the previous release")
        #expect(try transcoder.encode(previousRelease) == bytes, "which writes it back unchanged")
        let split = ReservedAttributes.split(previousRelease.attributes)
        #expect(split.principal == "alice")
        #expect(split.loginTime?.unixMilliseconds == 1_796_000_000_123)
        #expect(split.attributes == ["count": 3])
    }

    /// The JSON format as other languages read it: Unix milliseconds and the principal among the
    /// attributes; a blob stored before them (today's format, written by the previous release)
    /// reads as before; and the previous release's reader (the same strict v1 reader) takes a blob
    /// written now.
    @Test func theJSONFormatCarriesUnixTimesAndReadsTodaysBlobs() throws {
        let transcoder = JSONSessionTranscoder()
        let todays = #"{"format":"swift-session-manager/json","version":1,"id":"ABCDEF0123456789ABCDEF0123456789-n1.node1","creationTime":817879528.375,"lastAccessedTime":817879530.5,"maxInactiveInterval":1800,"attributes":{"count":3}}"#
        let old = try transcoder.decode(Array(todays.utf8))
        #expect(old.creationTime == Date(timeIntervalSinceReferenceDate: 817_879_528.375))
        #expect(old.attributes == ["count": 3])

        var new = old
        new.attributes = ReservedAttributes.merge(["count": 3], principal: "alice", loginTime: Date(timeIntervalSince1970: 1_796_000_000.123))
        let bytes = try transcoder.encode(new)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let attributes = try #require(json["attributes"] as? [String: Any])
        #expect(attributes["sm:creationTimeUnixMs"] as? Int == 1_796_186_728_375, "1995 in 2001 seconds is 2026 in Unix time")
        #expect(attributes["sm:lastAccessedTimeUnixMs"] as? Int == 1_796_186_730_500)
        #expect(attributes["sm:principal"] as? String == "alice")
        #expect(attributes["sm:loginTime"] as? Int == 1_796_000_000_123)
        #expect(try transcoder.decode(bytes) == new, "this release reads its own blob back exactly")

        let previousRelease = try bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            return try reader.session()
        }
        #expect(previousRelease.attributes["count"] == 3 && previousRelease.attributes["sm:principal"] == "alice", "the v1 reader of the previous release takes it")
    }

    enum TranscoderKinds: String, CaseIterable, Sendable {
        case binary, json, plist
        static let all = allCases
        var transcoder: any SessionTranscoder {
            switch self {
            case .binary: BinarySessionTranscoder()
            case .json: JSONSessionTranscoder()
            case .plist: PropertyListSessionTranscoder()
            }
        }
    }
}
