import { aggregatorMaySubscribe, regionOfTopic, shareTopic, subscriptionFilters } from '../src/topics';
import { publishRefusal } from '../src/broker';

describe('share topics', () => {
  test.each([
    ['grid/north/shares', 'north'],
    ['grid/north/d3/shares', 'north/d3'],
    ['grid/a/b/c/d/e/f/shares', 'a/b/c/d/e/f'],
  ])('when the topic is %s then the region is %s', (topic, region) => {
    expect(regionOfTopic(topic)).toBe(region);
    expect(shareTopic(region)).toBe(topic);
  });

  test.each([
    'grid/shares',
    'grid//shares',
    'grid/North/shares',
    'grid/a/b/c/d/e/f/g/shares',
    'grid/north/d3/readings',
    'grid/north_d3/shares',
    `grid/${'x'.repeat(17)}/shares`,
    'other/north/shares',
    'grid/+/shares',
  ])('when the topic is %s then it is no share topic', (topic) => {
    expect(regionOfTopic(topic)).toBeUndefined();
  });

  test('the aggregator may subscribe below grid/ only', () => {
    for (const filter of [
      'grid/#',
      'grid/+/shares',
      'grid/north/#',
      'grid/north/d3/shares',
      'grid/+/+/shares',
    ]) {
      expect(aggregatorMaySubscribe(filter)).toBe(true);
    }
    for (const filter of [
      '#',
      '+/north/shares',
      '$SYS/#',
      '$share/g/grid/#',
      'grid',
      'grid/#/x',
      'gridx/#',
      'grid/North/#',
    ]) {
      expect(aggregatorMaySubscribe(filter)).toBe(false);
    }
  });

  test('regions become filters that include the regions below them', () => {
    expect(subscriptionFilters([])).toEqual(['grid/#']);
    expect(subscriptionFilters(['north', 'south/d2'])).toEqual(['grid/north/#', 'grid/south/d2/#']);
  });

  test('what a client may publish: a share topic, QoS 0 or 1, not retained, at most 2048 bytes; the aggregator nothing', () => {
    const ok = { topic: 'grid/north/shares', qos: 1, retain: false, payload: Buffer.alloc(2048) };
    expect(publishRefusal(false, ok)).toBeUndefined();
    expect(publishRefusal(true, ok)).toBe('PUBLISH_NOT_ALLOWED');
    expect(publishRefusal(false, { ...ok, topic: 'grid/north' })).toBe('TOPIC_NOT_ALLOWED');
    expect(publishRefusal(false, { ...ok, retain: true })).toBe('RETAIN_NOT_ALLOWED');
    expect(publishRefusal(false, { ...ok, qos: 2 })).toBe('QOS_NOT_ALLOWED');
    expect(publishRefusal(false, { ...ok, payload: Buffer.alloc(2049) })).toBe('PAYLOAD_TOO_LARGE');
  });
});
