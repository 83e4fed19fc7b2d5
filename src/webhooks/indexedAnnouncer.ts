import type { EventSink } from '../events/events';
import type { ImageListener } from '../stages/imageEvents';

/** image.indexed events for webhook subscribers, from the images ingest committed. */
export function indexedAnnouncer(events: EventSink): ImageListener {
  return {
    name: 'webhooks',
    indexed: (images) =>
      events.emit(images.map((i) => ({ type: 'image.indexed', owner: i.owner, data: { imageId: i.imageId, externalId: i.externalId, jobId: i.jobId } }))),
  };
}
