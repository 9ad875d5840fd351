import SessionTesting
import Testing

@testable import SessionManager

@Suite(.capturedLog) struct SessionIDTests {
    @Test func generatedIDsHave32UpperHexCharactersAndNoCollisions() {
        var seen = Set<String>()
        seen.reserveCapacity(100_000)
        let allowed = Set("0123456789ABCDEF".utf8)
        for _ in 0..<100_000 {
            let random = SessionIDGenerator.makeRandomPart()
            #expect(random.utf8.count == 32)
            #expect(random.utf8.allSatisfy(allowed.contains))
            seen.insert(random)
        }
        #expect(seen.count == 100_000)
    }

    @Test func everyHexDigitAppearsInEveryPosition() {
        // 128 bits means every position varies over all 16 digits; a generator that fixed or
        // narrowed a position (for example by formatting a smaller integer) would fail this.
        var digitsPerPosition = Array(repeating: Set<UInt8>(), count: 32)
        for _ in 0..<2_000 {
            for (i, byte) in SessionIDGenerator.makeRandomPart().utf8.enumerated() { digitsPerPosition[i].insert(byte) }
        }
        #expect(digitsPerPosition.allSatisfy { $0.count == 16 })
    }

    @Test func generatorAppendsJvmRoute() {
        let id = SessionIDGenerator(jvmRoute: "node1").makeID()
        #expect(id.description.hasSuffix(".node1"))
        #expect(id.jvmRoute == "node1")
        #expect(id.nodeID == nil)
        #expect(SessionIDGenerator(jvmRoute: "n").makeID(nodeID: "n2").description.contains("-n2.n"))
    }

    @Test(arguments: [
        ("0123456789ABCDEF0123456789ABCDEF", nil, nil),
        ("0123456789ABCDEF0123456789ABCDEF.node1", nil, "node1"),
        ("0123456789ABCDEF0123456789ABCDEF-n1", "n1", nil),
        ("0123456789ABCDEF0123456789ABCDEF-n1.j-v-m1", "n1", "j-v-m1"),
    ] as [(String, String?, String?)])
    func parsesValidIDs(text: String, node: String?, route: String?) throws {
        let id = try #require(SessionID(parsing: text))
        #expect(id.description == text)
        #expect(id.random == "0123456789ABCDEF0123456789ABCDEF")
        #expect(id.nodeID == node)
        #expect(id.jvmRoute == route)
    }

    @Test(arguments: [
        "",
        "0123456789abcdef0123456789abcdef",  // lower case
        "0123456789ABCDEF0123456789ABCDE",  // 31
        "0123456789ABCDEF0123456789ABCDEF0",  // 33
        "0123456789ABCDEF0123456789ABCDEG",
        "0123456789ABCDEF0123456789ABCDEF.",
        "0123456789ABCDEF0123456789ABCDEF-",
        "0123456789ABCDEF0123456789ABCDEF-n1.",
        "0123456789ABCDEF0123456789ABCDEF.node1\r\nSet-Cookie: x=y",
        "0123456789ABCDEF0123456789ABCDEF.no de",
        "0123456789ABCDEF0123456789ABCDEF-n-1",
        "0123456789ABCDEF0123456789ABCDEF." + String(repeating: "a", count: 65),
        String(repeating: "A", count: 10_000),
        "0123456789ABCDEF0123456789ABCDEF.node1.x",
        "0123456789ABCDEF0123456789ABCDEF.nöde",
    ])
    func rejectsMalformedIDs(text: String) {
        #expect(SessionID(parsing: text) == nil)
    }

    @Test func relocationKeepsTheRandomPart() throws {
        let id = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF-n1.node1"))
        #expect(id.withNodeID("n2").description == "0123456789ABCDEF0123456789ABCDEF-n2.node1")
        #expect(id.withJvmRoute("node2").description == "0123456789ABCDEF0123456789ABCDEF-n1.node2")
        #expect(id.withJvmRoute(nil).description == "0123456789ABCDEF0123456789ABCDEF-n1")
    }

    @Test func logTagDoesNotRevealTheID() throws {
        let id = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF"))
        #expect(!id.logTag.isEmpty)
        #expect(id.logTag.count <= 8)
        #expect(!id.description.contains(id.logTag.uppercased()) || id.logTag.count < 8)
    }

    @Test func idsAsDictionaryKeysCompareTheWholeText() throws {
        // Sessions in use are filed by ``SessionID``: ids that differ in one random digit, or only
        // in node id or route, must stay distinct keys, and a reparsed id must find its entry.
        let base = try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEF"))
        let variants = [
            base,
            try #require(SessionID(parsing: "0123456789ABCDEF0123456789ABCDEE")),
            base.withJvmRoute("node1"),
            base.withNodeID("n1"),
            base.withNodeID("n1").withJvmRoute("node1"),
        ]
        var table: [SessionID: Int] = [:]
        for (i, id) in variants.enumerated() { table[id] = i }
        #expect(table.count == variants.count)
        for (i, id) in variants.enumerated() {
            let reparsed = try #require(SessionID(parsing: id.description))
            #expect(reparsed == id && reparsed.hashValue == id.hashValue)
            #expect(table[reparsed] == i)
        }
        #expect(SessionID(random: base.random) == base && SessionID(random: base.random).hashValue == base.hashValue)
    }
}
