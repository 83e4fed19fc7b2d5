import type { ModelPack } from '../models/modelPack';
import type { Captioner } from '../search/captions';
import type { ImageRecord } from '../search/imageRecord';
import type { QueryVector } from '../search/searchService';
import { tagPhrase, type AutoTag, type AutoTagger } from './autoTagger';

/**
 * The caption of last resort, so that a photo is never "caption unavailable" while an image pack is
 * installed: its auto tags as a phrase (海边 · 日落 · 两个人), the stored ones, or made now from its vector
 * when the stage has not reached it yet.
 */
export class TagCaptioner implements Captioner {
  constructor(
    private readonly tagger: AutoTagger,
    private readonly pack: () => ModelPack,
    private readonly imageVector: (id: string) => Promise<QueryVector>,
  ) {}

  get model(): string {
    return `autotags:${this.tagger.version(this.pack())}`;
  }

  async caption(image: ImageRecord): Promise<{ text: string; score: number | null }> {
    let tags: readonly AutoTag[] = image.autoTags;
    if (tags.length === 0) {
      const { vector, model } = await this.imageVector(image.id);
      tags = await this.tagger.tag(model.pack, vector);
    }
    return { text: tagPhrase(tags), score: tags[0]?.score ?? null };
  }
}
