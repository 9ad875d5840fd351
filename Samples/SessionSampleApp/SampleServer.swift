import Logging
import SessionConfigXML
import SessionHTTP
import SessionManager
import SessionStores

/// Everything the sample executable and its tests share: the app registry and the default setup.
public enum SampleServer {
    /// The apps a configuration file may mount, by name.
    public static func apps() -> [String: HTTPAppFactory] {
        ["sample": { _ in try SampleApp(jvmRoute: nil) }]
    }

    /// The configuration used without `--config`: port 8080, `/myapp`, memory store, static files ignored.
    public static func defaultConfiguration(port: Int = 8080) throws -> ServerConfiguration {
        var manager = ManagerConfiguration(storageKeyPrefix: "sm:/myapp:")
        manager.requestUriIgnorePattern = try RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern)
        return ServerConfiguration(
            connector: ConnectorConfiguration(port: port),
            contexts: [ContextConfiguration(path: "/myapp", app: "sample", manager: manager)]
        )
    }

    /// Loads a configuration file, validating app names against ``apps()``.
    public static func loadConfiguration(path: String) throws(ServerXMLError) -> ServerConfiguration {
        try ServerXMLLoader(knownApps: Set(apps().keys)).load(contentsOf: path)
    }

    /// Builds the server for a configuration; by default each context gets the store its
    /// `<Manager memcachedNodes=…>` names (the memory store without one).
    public static func makeServer(
        configuration: ServerConfiguration,
        stores: SessionStoreFactory? = nil,
        logger: Logger
    ) throws -> HTTPServer {
        let route = configuration.jvmRoute
        let apps: [String: HTTPAppFactory] = ["sample": { _ in try SampleApp(jvmRoute: route) }]
        if let stores { return try HTTPServer(configuration: configuration, apps: apps, stores: stores, logger: logger) }
        return try HTTPServer(
            configuration: configuration,
            apps: apps,
            nodes: { context in try SessionStores.makeNodes(for: context.manager, logger: logger) },
            logger: logger
        )
    }
}
