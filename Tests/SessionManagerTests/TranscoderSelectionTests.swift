import Foundation
import Logging
import SessionTesting
import Testing

@testable import SessionManager

/// What the manager does with transcoders: switching, attribute filtering, the size limit.
@Suite(.capturedLog) struct TranscoderSelectionTests {
    let store = CountingSessionStore(MemorySessionStore())
    let logs = LogCapture()

    func manager(_ configure: (inout ManagerConfiguration) -> Void) -> SessionManager {
        var configuration = ManagerConfiguration()
        configuration.sticky = false  // a shared store read by every request (sticky mode: StickySessionTests)
        configure(&configuration)
        return SessionManager(configuration: configuration, store: store, jvmRoute: nil, logger: logs.logger())
    }

    /// Creates a session with `attributes` through `manager`, returning its id.
    func create(_ manager: SessionManager, _ attributes: [String: SessionValue]) async throws -> SessionID {
        let sessions = manager.beginRequest(path: "/x", requestedID: nil)
        let session = try await sessions.session()
        for (key, value) in attributes { session[key] = value }
        _ = await sessions.finish()
        return session.id
    }

    func load(_ manager: SessionManager, _ id: SessionID) async throws -> Session? {
        let sessions = manager.beginRequest(path: "/x", requestedID: id)
        defer { Task { _ = await sessions.finish() } }
        return try await sessions.existingSession()
    }

    @Test func aSessionWrittenByAnotherTranscoderGivesANewSessionAndAWarning() async throws {
        let jsonNode = manager { $0.transcoder = JSONSessionTranscoder() }
        let binaryNode = manager { $0.transcoder = BinarySessionTranscoder() }
        let id = try await create(jsonNode, ["count": 3])
        #expect(try await load(jsonNode, id)?["count"] == 3)

        // The cluster now runs with binary: the json blob is recognised, dropped, reported.
        let sessions = binaryNode.beginRequest(path: "/x", requestedID: id)
        #expect(try await sessions.existingSession() == nil)
        let fresh = try await sessions.session()
        #expect(fresh.id != id)
        #expect(await sessions.finish() == .set(fresh.id))
        let warnings = logs.records(.warning, containing: "written by the 'json' transcoder, this context uses 'binary'")
        #expect(warnings.count == 1)
        #expect(try await store.getAndTouch(id.storeKey(prefix: "sm:"), ttl: .seconds(60)) == nil, "the foreign blob is deleted")
    }

    @Test func filteredAttributesAreNotStoredAndTheirChangesWriteNothing() async throws {
        let node = manager { $0.sessionAttributeFilter = try? SessionAttributeFilter("user|cart\\..*") }
        let id = try await create(node, ["user": "ann", "cart.items": 2, "cache": .bytes([1, 2, 3])])
        let stored = try #require(try await store.getAndTouch(id.storeKey(prefix: "sm:"), ttl: .seconds(60)))
        #expect(try BinarySessionTranscoder().decode(stored).attributes == ["user": "ann", "cart.items": 2])

        // Changing only an attribute that is not stored writes nothing.
        store.reset()
        let sessions = node.beginRequest(path: "/x", requestedID: id)
        try await sessions.session()["cache"] = .bytes([9])
        _ = await sessions.finish()
        #expect(store.counts.set == 0)
        #expect(store.counts.getAndTouch == 1)
    }

    @Test func aSessionOverMaxSessionSizeIsNotWrittenAndTheOldCopyStays() async throws {
        let node = manager { $0.maxSessionSize = 2048 }
        let id = try await create(node, ["small": 1])

        let sessions = node.beginRequest(path: "/x", requestedID: id)
        try await sessions.session()["big"] = .bytes([UInt8](repeating: 7, count: 4096))
        #expect(await sessions.finish() == .none)
        let errors = logs.records(.error, containing: "session write failed")
        #expect(errors.count == 1)
        #expect(errors.first?.metadata["sm.error"]?.description.contains("over maxSessionSize 2048") == true)

        let stored = try #require(try await store.getAndTouch(id.storeKey(prefix: "sm:"), ttl: .seconds(60)))
        #expect(try BinarySessionTranscoder().decode(stored).attributes == ["small": 1])
    }

    @Test func registryListsNamesAndRefusesDuplicates() throws {
        var transcoders = SessionTranscoders.standard
        #expect(transcoders.names == ["binary", "json", "plist"])
        #expect(throws: SessionManagerError.self) { try transcoders.register(JSONSessionTranscoder()) }
        try transcoders.register(ReversingTranscoder())
        #expect(transcoders["reversed"] != nil)
        #expect(transcoders.identify(try ReversingTranscoder().encode(BinarySessionTranscoderTests.sample())) == "reversed")
    }
}

/// A user-defined transcoder: binary, reversed, behind its own magic.
struct ReversingTranscoder: SessionTranscoder {
    let name = "reversed"
    static let magic: [UInt8] = Array("REV".utf8)
    func encode(_ snapshot: SessionSnapshot) throws -> [UInt8] { try Self.magic + BinarySessionTranscoder().encode(snapshot).reversed() }
    func decode(_ bytes: [UInt8]) throws -> SessionSnapshot {
        guard recognizes(bytes) else { throw TranscoderError("not reversed") }
        return try BinarySessionTranscoder().decode(bytes.dropFirst(3).reversed())
    }
    func recognizes(_ bytes: [UInt8]) -> Bool { bytes.starts(with: Self.magic) }
}
