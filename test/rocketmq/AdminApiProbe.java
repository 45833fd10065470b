// Calls the DefaultMQAdminExt methods RocketMQ Dashboard uses against a TideMQ broker and prints one
// line per call: `name=value` on success, `name!Exception: message` on failure. mqadmin.test.ts
// compiles and runs it with the rocketmq-tools classpath and checks the values.
//
// Usage: java AdminApiProbe <namesrvAddr> <brokerAddr> <topic> <consumerGroup> <producerGroup>
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;

import org.apache.rocketmq.remoting.protocol.admin.TopicOffset;
import org.apache.rocketmq.remoting.protocol.body.QueueTimeSpan;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

public class AdminApiProbe {
    private static void probe(String name, Callable<Object> call) {
        try {
            System.out.println(name + "=" + call.call());
        } catch (Throwable error) {
            System.out.println(name + "!" + error);
        }
    }

    public static void main(String[] args) throws Exception {
        final String broker = args[1];
        final String topic = args[2];
        final String group = args[3];
        final String producerGroup = args[4];
        final DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(args[0]);
        admin.setInstanceName("tidemq-probe-" + System.nanoTime());
        admin.start();
        try {
            probe("queryTopicConsumeByWho", () -> {
                List<String> groups = new ArrayList<>(admin.queryTopicConsumeByWho(topic).getGroupList());
                Collections.sort(groups);
                return String.join(",", groups);
            });
            probe("queryConsumeTimeSpan", () -> {
                List<QueueTimeSpan> spans = admin.queryConsumeTimeSpan(topic, group);
                long withMessages = spans.stream().filter(span -> span.getMinTimeStamp() > 0 && span.getMaxTimeStamp() >= span.getMinTimeStamp()).count();
                return spans.size() + "/" + withMessages;
            });
            probe("getAllSubscriptionGroup", () -> admin.getAllSubscriptionGroup(broker, 5000).getSubscriptionGroupTable().containsKey(group));
            probe("examineSubscriptionGroupConfig", () -> admin.examineSubscriptionGroupConfig(broker, group).getGroupName());
            probe("getAllTopicConfig", () -> admin.getAllTopicConfig(broker, 5000).getTopicConfigTable().get(topic).getReadQueueNums());
            probe("examineTopicConfig", () -> admin.examineTopicConfig(broker, topic).getAttributes().get("message.type"));
            probe("examineTopicStats", () -> {
                long total = 0;
                for (TopicOffset offset : admin.examineTopicStats(topic).getOffsetTable().values()) {
                    total += offset.getMaxOffset();
                }
                return total;
            });
            probe("examineConsumeStats", () -> admin.examineConsumeStats(group).computeTotalDiff());
            probe("fetchBrokerRuntimeStats", () -> admin.fetchBrokerRuntimeStats(broker).getTable().get("msgPutTotalTodayNow"));
            probe("getBrokerConfig", () -> admin.getBrokerConfig(broker).getProperty("brokerName"));
            probe("examineConsumerConnectionInfo", () -> admin.examineConsumerConnectionInfo(group).getConnectionSet().iterator().next().getClientId());
            probe("examineProducerConnectionInfo", () -> admin.examineProducerConnectionInfo(producerGroup, topic).getConnectionSet().size());
        } finally {
            admin.shutdown();
        }
    }
}
