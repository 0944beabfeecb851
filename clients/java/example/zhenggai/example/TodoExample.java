package zhenggai.example;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import zhenggai.client.Json;
import zhenggai.client.Webhooks;
import zhenggai.client.ZhenggaiClient;
import zhenggai.client.ZhenggaiClient.Actor;
import zhenggai.client.ZhenggaiException;

/**
 * What an OA system does with the client: list a user's to-dos, fire a transition on one, and
 * show a refusal as the engine words it.
 *
 * <pre>
 * java -cp classes zhenggai.example.TodoExample BASE_URL CLIENT SECRET USER ISSUE TRIGGER
 * java -cp classes zhenggai.example.TodoExample verify-webhook WHSEC HEADERS.json BODY
 * </pre>
 */
public final class TodoExample {
    public static void main(String[] args) throws Exception {
        if (args.length == 4 && args[0].equals("verify-webhook")) {
            verify(args[1], Path.of(args[2]), Path.of(args[3]));
            return;
        }
        if (args.length != 6) {
            System.err.println("usage: TodoExample BASE_URL CLIENT SECRET USER ISSUE TRIGGER | verify-webhook WHSEC HEADERS BODY");
            System.exit(2);
        }
        ZhenggaiClient api = new ZhenggaiClient(args[0], args[1], args[2]);
        Actor owner = Actor.of(args[3], "owner");
        List<Map<String, Object>> todos = api.todos(owner);
        System.out.println("to-dos of " + owner.id() + ": " + todos.size());
        for (Map<String, Object> issue : todos) {
            System.out.println("  " + issue.get("code") + " " + issue.get("title") + " [" + issue.get("state") + "]");
        }
        ZhenggaiClient.Answer current = api.issue(owner, args[4]);
        String key = "fire-" + args[4] + "-" + args[5] + "-" + current.version();
        ZhenggaiClient.Answer moved = api.fire(owner, args[4], args[5], "owner", null, current.version(), key);
        System.out.println("fired " + args[5] + " on " + args[4] + ": now " + moved.object().get("state")
                + " (version " + moved.version() + ")");
        try {  // the same If-Match again: the issue has moved on since
            api.fire(owner, args[4], args[5], "owner", null, current.version(), key + "-again");
        } catch (ZhenggaiException e) {
            System.out.println("refused: " + e.status() + " " + e.code() + " | " + e.messageZh() + " | " + e.messageEn());
        }
    }

    private static void verify(String secret, Path headers, Path body) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, String> h = (Map<String, String>) (Map<?, ?>) Json.object(Files.readString(headers, StandardCharsets.UTF_8));
        Map<String, Object> event = new Webhooks(secret).verify(h, Files.readAllBytes(body));
        System.out.println("verified " + event.get("type") + " " + event.get("id"));
    }
}
