import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser, Public, Role, Roles } from '@app/auth';
import { NotFoundError, SectionService } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { normalizeFreeText } from '../common/free-text';
import { IdParam } from '../common/parse-id.pipe';
import {
  mapSection,
  mapSectionAvailability,
  SectionListDto,
  SectionPriceUpdateDto,
  SectionResponseDto,
} from './section.dto';
import { SECTION_NAME_PATTERN } from '../common/section-name-patterns';

@ApiTags('performances')
@Controller('performances')
export class SectionsController {
  constructor(private readonly sections: SectionService) {}

  /**
   * The performance's sections in layout order: name, grade, price, currency, seats in all and
   * seats available (counted in steps from the live seat state; a few seconds old at most while buyers read it).
   */
  @Get(':id/sections')
  @Public()
  @ApiOkResponse({ type: SectionListDto })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async list(@IdParam() id: number): Promise<SectionListDto> {
    return { items: (await this.sections.listSections(id)).map(mapSectionAvailability) };
  }

  /**
   * Changes the price of a section's seats for every hold made from now on (admin). Holds made
   * before keep their amount (their purchase charges it), purchases keep theirs, and a seat freed
   * later sells at the new price. Every replica's seat pages and sections show it once this
   * answers. Recorded in the admin audit log. 409 once the performance is CLOSED or has started.
   */
  @Patch(':id/sections/:name')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiOkResponse({ type: SectionResponseDto })
  @ApiParam({ name: 'name', description: 'The section name (URL-encoded), as in GET /performances/:id/sections.' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance or section' })
  @ApiResponse({ status: 409, type: ErrorBodyDto, description: 'the performance is closed or has started' })
  async changePrice(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Param('name') name: string,
    @Body() body: SectionPriceUpdateDto,
  ): Promise<SectionResponseDto> {
    // The name as section names are stored (FreeText: NFC, trimmed).
    const sectionName = normalizeFreeText(name) as string;
    if (!SECTION_NAME_PATTERN.test(sectionName)) throw new NotFoundError('section', { performanceId: id });
    const section = await this.sections.changePrice(id, sectionName, body.price, {
      id: operator.id,
      email: operator.email,
    });
    return mapSection(section);
  }
}
