package org.walkbook.test;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * walkbook-server as a child process on 127.0.0.1, port 0 (it writes the
 * port it got to --port-file), as tests/server/server_client.c does.
 */
final class Server implements AutoCloseable {
    static final String ADMIN = "adm-secret";

    private final Process process;
    final int port;

    private Server(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static Server start(Harness h, String name, String... extra) throws Exception {
        String bin = System.getProperty("walkbook.server");
        if (bin == null || !new File(bin).canExecute()) {
            throw new IllegalStateException("-Dwalkbook.server must name walkbook-server");
        }
        File portFile = new File(h.path(name + ".port"));
        List<String> cmd = new ArrayList<>(Arrays.asList(
            bin, "--port", "0", "--port-file", portFile.getPath(), "--log", "--admin", ADMIN));
        cmd.addAll(Arrays.asList(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true);
        pb.redirectOutput(new File(h.path(name + ".log")));
        Process p = pb.start();
        for (int i = 0; i < 100; i++) { /* up to 5 s */
            if (portFile.length() > 0) {
                String text = new String(Files.readAllBytes(portFile.toPath()),
                                         StandardCharsets.UTF_8).trim();
                if (!text.isEmpty()) {
                    return new Server(p, Integer.parseInt(text));
                }
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("walkbook-server exited early; log "
                                                + h.path(name + ".log"));
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IllegalStateException("walkbook-server wrote no port file in 5 s");
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** An admin request; returns the status (body in out[0] when given). */
    int admin(String method, String path, String body, String[] out) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(url() + path).openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(2000);
        c.setReadTimeout(5000);
        c.setRequestProperty("X-Admin-Token", ADMIN);
        if (body != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json");
            try (OutputStream o = c.getOutputStream()) {
                o.write(body.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream();
        if (in != null) {
            try (InputStream i = in) {
                byte[] all = readAll(i);
                if (out != null) {
                    out[0] = new String(all, StandardCharsets.UTF_8);
                }
            }
        }
        c.disconnect();
        return status;
    }

    private static byte[] readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            b.write(buf, 0, n);
        }
        return b.toByteArray();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(3, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
