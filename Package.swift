// swift-tools-version:6.2
import PackageDescription

/// Settings every target of ours gets. Warnings become errors only in CI (`CI` set), so a user's
/// newer compiler never breaks their build over a new warning in our code.
var swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]
if Context.environment["CI"] != nil {
    swiftSettings.append(.treatAllWarnings(as: .error))
}

let package = Package(
    name: "swift-session-manager",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SessionManager", targets: ["SessionManager"]),
        .library(name: "SessionHTTP", targets: ["SessionHTTP"]),
        .library(name: "SessionConfigXML", targets: ["SessionConfigXML"]),
        .library(name: "SessionTesting", targets: ["SessionTesting"]),
        .library(name: "MemcachedSessionStore", targets: ["MemcachedSessionStore"]),
        .library(name: "RedisSessionStore", targets: ["RedisSessionStore"]),
        .library(name: "SessionStores", targets: ["SessionStores"]),
        .executable(name: "SessionSample", targets: ["SessionSample"]),
        .library(name: "SessionHummingbird", targets: ["SessionHummingbird"]),
        .executable(name: "HummingbirdSample", targets: ["HummingbirdSample"]),
        .library(name: "SessionVapor", targets: ["SessionVapor"]),
        .executable(name: "VaporSample", targets: ["VaporSample"]),
    ],
    traits: [
        // Off by default: users of the bundled server neither compile nor link Hummingbird.
        // `swift build --traits HummingbirdSupport`, or `traits: ["HummingbirdSupport"]` on the
        // `.package` line of an app, turns the adapter on.
        .trait(name: "HummingbirdSupport", description: "The Hummingbird 2 middleware (SessionHummingbird) and its sample."),
        // Off by default for the same reason: `--traits VaporSupport`, or `traits: ["VaporSupport"]`.
        .trait(name: "VaporSupport", description: "The Vapor 4 middleware and SessionDriver (SessionVapor) and its sample."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Only with the HummingbirdSupport trait: every use below is conditional on it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Only with the VaporSupport trait: every use below is conditional on it.
        .package(url: "https://github.com/vapor/vapor", from: "4.122.3"),
    ],
    targets: [
        .target(
            name: "SessionManager",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionHTTP",
            dependencies: [
                "SessionManager", "SessionPeerEndpoint",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionStoreNIO",
            dependencies: [
                "SessionManager",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MemcachedSessionStore",
            dependencies: [
                "SessionManager", "SessionStoreNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionPeerEndpoint",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "RedisSessionStore",
            dependencies: [
                "CHiredis", "SessionManager", "SessionStoreNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionStores",
            dependencies: [
                "SessionManager", "SessionStoreNIO", "MemcachedSessionStore", "RedisSessionStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionConfigXML",
            dependencies: ["SessionManager", "SessionHTTP", "SessionStores", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionTesting",
            dependencies: [
                "SessionHTTP", "SessionManager",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionSampleApp",
            dependencies: [
                "SessionManager", "SessionHTTP", "SessionConfigXML", "SessionStores",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/SessionSampleApp",
            resources: [.copy("public")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SessionSample",
            dependencies: [
                "SessionSampleApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/SessionSample",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionHummingbird",
            dependencies: [
                "SessionManager", "SessionHTTP", "SessionConfigXML", "SessionStores",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdSupport"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["HummingbirdSupport"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HummingbirdSampleApp",
            dependencies: [
                "SessionSampleApp", "SessionHummingbird", "SessionManager",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdSupport"])),
            ],
            path: "Samples/HummingbirdSampleApp",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HummingbirdSample",
            dependencies: [
                "HummingbirdSampleApp", "SessionSampleApp", "SessionHummingbird", "SessionManager", "SessionHTTP",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdSupport"])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/HummingbirdSample",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionVapor",
            dependencies: [
                "SessionManager", "SessionHTTP", "SessionConfigXML",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["VaporSupport"])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "VaporSampleApp",
            dependencies: [
                "SessionSampleApp", "SessionVapor", "SessionManager",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["VaporSupport"])),
            ],
            path: "Samples/VaporSampleApp",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "VaporSample",
            dependencies: [
                "VaporSampleApp", "SessionSampleApp", "SessionVapor", "SessionManager", "SessionHTTP",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["VaporSupport"])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Samples/VaporSample",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SessionMicroBench",
            dependencies: ["SessionManager", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/SessionMicroBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "StoreClientBench",
            dependencies: [
                "SessionManager", "SessionHTTP", "RedisSessionStore", "MemcachedSessionStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/StoreClientBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TranscoderBench",
            dependencies: ["SessionManager"],
            path: "Benchmarks/TranscoderBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SessionManagerTests", dependencies: ["SessionManager", "SessionTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SessionHTTPTests",
            dependencies: [
                "SessionHTTP", "SessionManager", "SessionTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionPeerEndpointTests",
            dependencies: [
                "SessionPeerEndpoint", "MemcachedSessionStore", "SessionManager", "SessionStoreNIO", "SessionTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MemcachedSessionStoreTests",
            dependencies: [
                "MemcachedSessionStore", "SessionStoreNIO", "SessionTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RedisSessionStoreTests",
            dependencies: [
                "RedisSessionStore", "SessionManager", "SessionStoreNIO", "SessionTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionConfigXMLTests",
            dependencies: ["SessionConfigXML", "SessionHTTP", "SessionManager", "SessionTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SessionTestingTests", dependencies: ["SessionTesting", "SessionHTTP"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SessionSampleTests",
            dependencies: [
                "SessionSampleApp", "SessionSample", "SessionTesting", "SessionHTTP", "SessionManager", "SessionConfigXML", "SessionStores",
                "RedisSessionStore", "MemcachedSessionStore", "SessionStoreNIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionAdapterTests",
            dependencies: [
                "SessionManager", "SessionTesting", "SessionHTTP", "SessionSampleApp", "SessionConfigXML", "SessionStores",
                "SessionHummingbird", "HummingbirdSampleApp", "HummingbirdSample",
                "SessionVapor", "VaporSampleApp", "VaporSample", "SessionSample",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdSupport"])),
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["HummingbirdSupport"])),
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["VaporSupport"])),
                .product(name: "VaporTesting", package: "vapor", condition: .when(traits: ["VaporSupport"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
