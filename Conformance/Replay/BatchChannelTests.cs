using System.Runtime.ExceptionServices;
using PcieSim.Replay;

namespace PcieSim.Conformance.Replay;

/// <summary>
/// The replay's hand-over between threads: items arrive in order across batch boundaries, the producer's error comes
/// after the items before it, a consumer that gives up stops the producer, and an item offered for reuse is always
/// one the consumer has finished with (never one still queued or being drained).
/// </summary>
public class BatchChannelTests
{
    private sealed class Item(int value)
    {
        public int Value { get; set; } = value;

        /// <summary>Set by the consumer once it has finished with the item; cleared by the producer on reuse.</summary>
        public volatile bool Done;
    }

    /// <summary>The consumer's items, batch after batch, in order.</summary>
    private static IEnumerable<Item> Taken(BatchChannel<Item> channel)
    {
        while (channel.TryTakeBatch(out var batch))
        {
            for (int i = 0; i < batch.Count; i++)
            {
                yield return batch[i];
            }
        }
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1024)]
    public void items_arrive_in_order_whatever_the_batch_size(int batchSize)
    {
        const int Count = 20_000;
        var channel = new BatchChannel<Item>(batchSize);
        var producer = new Thread(() =>
        {
            for (int i = 0; i < Count; i++)
            {
                channel.Add(new Item(i));
            }

            channel.Complete();
        });
        producer.Start();

        int expected = 0;
        foreach (var item in Taken(channel))
        {
            if (item.Value != expected)
            {
                Assert.Fail($"item {expected}: got {item.Value}");
            }

            expected++;
        }

        producer.Join();
        Assert.That(expected, Is.EqualTo(Count));
    }

    [Test]
    public void an_item_offered_for_reuse_is_one_the_consumer_has_finished_with()
    {
        const int Count = 200_000;
        var channel = new BatchChannel<Item>(batchSize: 5);
        int reused = 0;
        string? problem = null;
        var producer = new Thread(() =>
        {
            for (int i = 0; i < Count; i++)
            {
                Item item;
                if (channel.TryReuse(out var old))
                {
                    if (!old.Done)
                    {
                        problem ??= $"item {old.Value} offered for reuse before the consumer finished with it";
                    }

                    old.Done = false;
                    old.Value = i;
                    item = old;
                    reused++;
                }
                else
                {
                    item = new Item(i);
                }

                channel.Add(item);
            }

            channel.Complete();
        });
        producer.Start();

        int expected = 0;
        foreach (var item in Taken(channel))
        {
            if (item.Value != expected++)
            {
                problem ??= $"item {expected - 1}: got {item.Value} (reused while queued?)";
            }

            Thread.SpinWait(20);
            item.Done = true;
        }

        producer.Join();
        Assert.Multiple(() =>
        {
            Assert.That(problem, Is.Null);
            Assert.That(expected, Is.EqualTo(Count));
            Assert.That(reused, Is.GreaterThan(Count / 2), "items went round");
        });
    }

    [Test]
    public void the_producers_error_comes_after_the_items_before_it()
    {
        var channel = new BatchChannel<Item>(batchSize: 4);
        for (int i = 0; i < 6; i++)
        {
            channel.Add(new Item(i));
        }

        channel.Complete(ExceptionDispatchInfo.Capture(new InvalidOperationException("bad row")));
        var taken = new List<int>();
        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var item in Taken(channel))
            {
                taken.Add(item.Value);
            }
        });
        Assert.Multiple(() =>
        {
            Assert.That(taken, Is.EqualTo(new[] { 0, 1, 2, 3, 4, 5 }));
            Assert.That(error!.Message, Is.EqualTo("bad row"));
        });
    }

    [Test]
    public void a_consumer_that_gives_up_stops_the_producer()
    {
        var channel = new BatchChannel<Item>(batchSize: 3);
        channel.Abandon();
        bool accepted = true;
        for (int i = 0; i < 100 && accepted; i++)
        {
            accepted = channel.Add(new Item(i));
        }

        Assert.That(accepted, Is.False, "Add returns false at the first hand-over after the consumer gave up");
    }
}
